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
# No --passWithNoTests: a tier that finds no test (a moved folder, a broken
# testRegex) must fail, not pass silently. Jest then exits 1 but its JSON
# report says success with 0 failed, so the summary below counts such a tier
# (and any tier whose jest exited non-zero without a counted failure) itself.
for tier in unit integration e2e; do
  echo "=== $tier tests" >&2
  if npx jest --config "test/jest-$tier.js" --ci --json --outputFile "$out/$tier.json"; then
    echo 0 >"$out/$tier.rc"
  else
    echo $? >"$out/$tier.rc"
    status=1
  fi
done
node -e '
  const fs = require("fs"); const dir = process.argv[1]; let p = 0, f = 0;
  for (const t of ["unit", "integration", "e2e"]) {
    const rc = Number(fs.readFileSync(dir + "/" + t + ".rc", "utf8"));
    let r;
    try { r = JSON.parse(fs.readFileSync(dir + "/" + t + ".json", "utf8")); }
    catch { console.error(`[summary] ${t}: no jest report (jest exited ${rc})`); f += 1; continue; }
    const failed = r.numFailedTests + (r.numRuntimeErrorTestSuites || 0);
    p += r.numPassedTests;
    f += failed;
    if (r.numTotalTests === 0) { console.error(`[summary] ${t}: no tests found`); if (!failed) f += 1; }
    else if (rc !== 0 && failed === 0) { console.error(`[summary] ${t}: jest exited ${rc} with no failed test`); f += 1; }
  }
  console.log(`tests: ${p} passed, ${f} failed`);
' "$out"
rm -rf "$out"
exit $status
