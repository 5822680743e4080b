#!/usr/bin/env bash
# The whole test suite: type check, unit, integration and e2e tiers against
# real PostgreSQL, Redis and the sandbox. Prints one closing line
# "tests: N passed, N failed". Usage: bash scripts/test-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-services.sh
# Not fatal: without promtool the metrics test fails (in CI) and says why.
bash scripts/ensure-tools.sh || echo "[tools] could not install promtool" >&2
bash scripts/install-deps.sh

out=$(mktemp -d)
status=0
# Type check of src/ and test/ that also emits the compiled app into dist-test/
# for the integration tier's process tests (SIGTERM, bad config).
node test/helpers/build-for-tests.js || { echo "type check failed" >&2; status=1; }
for tier in unit integration e2e; do
  echo "=== $tier tests" >&2
  npx jest --config "test/jest-$tier.js" --ci --passWithNoTests --json --outputFile "$out/$tier.json" || status=1
done
node -e '
  const fs = require("fs"); let p = 0, f = 0;
  for (const t of ["unit", "integration", "e2e"]) {
    try { const r = JSON.parse(fs.readFileSync(process.argv[1] + "/" + t + ".json", "utf8")); p += r.numPassedTests; f += r.numFailedTests + (r.numRuntimeErrorTestSuites || 0); }
    catch { f += 1; }
  }
  console.log(`tests: ${p} passed, ${f} failed`);
' "$out"
rm -rf "$out"
exit $status
