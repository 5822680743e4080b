// Loads curve25519-js (the pure-JS Curve25519 signatures libsignal uses for
// every sign/verify) in Node's main context instead of Jest's sandbox. Inside
// a vm context every global lookup (Math, Float64Array) in its hot loops goes
// through the context's interceptors, which makes signing ~15x slower
// (170 ms instead of 12 ms per signature): pairing and Signal session setup
// then dominate test time. The module has no dependencies and no state.
// Mapped for every test in test/jest.base.js (moduleNameMapper).
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const file = path.join(__dirname, '..', '..', 'node_modules', 'curve25519-js', 'lib', 'index.js');
const wrapper = vm.runInThisContext(`(function (exports, module) {${fs.readFileSync(file, 'utf8')}\n})`, { filename: file });
const mod = { exports: {} };
wrapper(mod.exports, mod);
module.exports = mod.exports;
