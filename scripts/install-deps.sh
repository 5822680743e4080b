#!/usr/bin/env bash
# Installs node_modules from the lockfile when missing or older than it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[deps] npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
else
  # Generated Prisma client may be missing after a clean of src/generated.
  [ -d src/generated/prisma ] || npm run --silent prisma:generate
fi
