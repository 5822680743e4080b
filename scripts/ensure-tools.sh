#!/usr/bin/env bash
# Makes sure the command-line tools the test suite needs are installed:
# promtool, for `promtool check metrics` on /metrics (test/e2e/metrics.e2e-spec.ts)
# and `promtool check rules` / `promtool test rules` on deploy/prometheus/
# (test/integration/observability.int-spec.ts). The OpenAPI tools (redocly,
# openapi-typescript) are npm devDependencies and need nothing here.
# Debian ships promtool only inside the `prometheus` package (~19 MB download,
# ~96 MB installed); no smaller package provides it. Its server is not started
# on machines without an init system, and nothing here starts it.
# Idempotent; installs with apt-get when missing.
set -euo pipefail

log() { printf '[tools] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if command -v promtool >/dev/null; then
  log "promtool is installed"
  exit 0
fi
log "installing promtool (Debian package prometheus)"
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v promtool >/dev/null || { log "promtool is still missing after installing prometheus"; exit 1; }
log "promtool installed: $(promtool --version 2>&1 | head -1)"
