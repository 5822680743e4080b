# syntax=docker/dockerfile:1
# ZapHub image: builds with the dev dependencies, ships only the production ones.
# The container applies pending migrations, then starts the service:
#   node scripts/prisma-migrate.mjs deploy && node dist/main
# (the migrate script drives Prisma's WebAssembly schema engine through pg, so
# it needs no engine download; its packages are regular dependencies).

FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
# Dependencies first (cached while package files do not change). The package's
# postinstall runs `prisma generate`, which needs the schema and prisma.config.ts.
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# prisma/migrations is read at boot (the schema check refuses an outdated database).
COPY --from=build /app/prisma ./prisma
COPY scripts/prisma-migrate.mjs ./scripts/prisma-migrate.mjs
# The image's non-root user (uid 1000); the app writes nothing to disk.
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# `exec` replaces the shell with node, so SIGTERM reaches ZapHub's graceful
# shutdown (stop HTTP, finish or hand back jobs, exit 0).
CMD ["sh", "-c", "node scripts/prisma-migrate.mjs deploy && exec node dist/main"]
