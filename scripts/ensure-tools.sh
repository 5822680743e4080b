#!/usr/bin/env bash
# Makes sure the command-line tools the test suite needs are installed:
# - promtool, for `promtool check metrics` on /metrics (test/e2e/metrics.e2e-spec.ts)
#   and `promtool check rules` / `promtool test rules` on deploy/prometheus/
#   (test/integration/observability.int-spec.ts). Debian ships promtool only inside
#   the `prometheus` package (~19 MB download, ~96 MB installed); no smaller package
#   provides it. Its server is not started on machines without an init system, and
#   nothing here starts it.
# - Chromium, which playwright-core drives in test/e2e/dashboard-browser.e2e-spec.ts
#   (Debian's `chromium` package: /usr/bin/chromium). Playwright's own browser
#   download is never used: it needs the internet, and npm ci must fetch nothing
#   but npm packages.
# The OpenAPI tools (redocly, openapi-typescript) are npm devDependencies and need
# nothing here. Idempotent; installs with apt-get what is missing (one apt-get update).
set -euo pipefail

log() { printf '[tools] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
if command -v promtool >/dev/null; then log "promtool is installed"; else missing+=(prometheus); fi
if [ -x /usr/bin/chromium ]; then log "chromium is installed"; else missing+=(chromium); fi
[ ${#missing[@]} -eq 0 ] && exit 0

log "installing ${missing[*]} (Debian packages)"
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
status=0
command -v promtool >/dev/null || { log "promtool is still missing after installing prometheus"; status=1; }
[ -x /usr/bin/chromium ] || { log "chromium is still missing after installing it"; status=1; }
[ $status -eq 0 ] && log "installed: $(promtool --version 2>&1 | head -1); $(/usr/bin/chromium --version 2>/dev/null | head -1)"
exit $status
