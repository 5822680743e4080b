// Compiles src/ and test/ with tsc into dist-test/ (same options as the
// production build, tsconfig.json) when the output is missing or older than a
// source file, so process-level tests run the compiled application. Type
// errors elsewhere in the tree do not stop the emit; they are reported by the
// type check of scripts/test-all.sh.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const outputs = [path.join(root, 'dist-test', 'src', 'main.js'), path.join(root, 'dist-test', 'test', 'fixtures', 'slow-job-main.js')];

function newestSource(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

function newestInput() {
  return Math.max(
    newestSource(path.join(root, 'src')),
    newestSource(path.join(root, 'test', 'fixtures')),
    fs.statSync(path.join(root, 'tsconfig.json')).mtimeMs,
  );
}

// The stamp records the newest source mtime seen BEFORE compiling: a file saved
// while tsc runs makes the next check rebuild (output mtimes cannot tell).
const stamp = path.join(root, 'dist-test', '.sources-mtime');

/** Compiles when stale (or always with `force`); returns tsc's exit status (0 when fresh). */
function buildForTests({ force = false } = {}) {
  const inputs = newestInput();
  const built = outputs.every((file) => fs.existsSync(file)) && fs.existsSync(stamp);
  if (!force && built && Number(fs.readFileSync(stamp, 'utf8')) >= inputs) return 0;
  const started = Date.now();
  const result = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', 'dist-test'], {
    cwd: root,
    encoding: 'utf8',
  });
  const missing = outputs.filter((file) => !fs.existsSync(file));
  if (missing.length) throw new Error(`tsc did not emit ${missing.join(', ')}:\n${result.stdout}${result.stderr}`);
  if (result.status !== 0) process.stderr.write(`[build-for-tests] tsc reported errors (output emitted anyway):\n${result.stdout}${result.stderr}\n`);
  fs.writeFileSync(stamp, String(inputs));
  process.stderr.write(`[build-for-tests] compiled dist-test in ${Date.now() - started} ms\n`);
  return result.status ?? 1;
}

// `node test/helpers/build-for-tests.js`: the type check of scripts/test-all.sh,
// which also leaves the compiled app for the integration tier.
if (require.main === module) {
  process.exitCode = buildForTests({ force: true });
}

module.exports = { buildForTests };
