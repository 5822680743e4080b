// Shared Jest settings. NestJS 12 and Baileys 7 are ESM-only; Jest on Node 20
// cannot load ESM from node_modules, so @swc/jest compiles those packages to
// CommonJS as well (transformIgnorePatterns allow-list below).
const swcOptions = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2023',
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

// Add a package here when Jest reports "Must use import to load ES Module".
const esmPackages = ['@nestjs', '@whiskeysockets/baileys', 'whatsapp-rust-bridge', 'p-queue', 'p-timeout', 'eventemitter3', 'cockatiel'];

module.exports = {
  rootDir: '..',
  moduleFileExtensions: ['js', 'json', 'ts'],
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', swcOptions] },
  moduleNameMapper: {
    // Curve25519 signing is ~15x slower inside Jest's vm context; load it in Node's main context.
    '^curve25519-js$': '<rootDir>/test/helpers/curve25519-main-context.js',
    // exports only an "import" condition, which Jest's CommonJS resolver ignores
    '^whatsapp-rust-bridge$': '<rootDir>/node_modules/whatsapp-rust-bridge/dist/index.js',
    // the generated Prisma client imports its .ts siblings as "./x.js"
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
};
