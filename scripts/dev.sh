#!/usr/bin/env bash
# Starts ZapHub for a newcomer on a Debian-like machine: installs dependencies,
# finds or starts PostgreSQL and Redis, applies migrations, builds, and runs the
# service with the built-in sandbox (fake WhatsApp network) switched on.
# Any variable of .env.example can be overridden from the environment or .env.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-services.sh
bash scripts/install-deps.sh

if [ -f .env ]; then set -a; . ./.env; set +a; fi
mkdir -p .zaphub
if [ -z "${API_KEY:-}" ]; then
  [ -s .zaphub/api-key ] || node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("base64url"))' > .zaphub/api-key
  API_KEY=$(cat .zaphub/api-key)
fi
export API_KEY
export DATABASE_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/zaphub}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
export SANDBOX=${SANDBOX:-true}
export PORT=${PORT:-3000}
export HOST=${HOST:-127.0.0.1}

node scripts/prisma-migrate.mjs deploy
npm run --silent build

cat <<INFO

  ZapHub  http://${HOST}:${PORT}      API docs  http://${HOST}:${PORT}/docs
  API key ${API_KEY}   (header X-Api-Key; kept in .zaphub/api-key)
  Sandbox ${SANDBOX} (fake WhatsApp network; scan QRs with POST /api/sandbox/sessions/:name/scan)

INFO
exec node dist/main
