import type { Server } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { LifecycleService } from '../infra/lifecycle/lifecycle.service';
import { PrismaService } from '../infra/prisma/prisma.service';
import { QueuesService } from '../infra/queues/queues.service';
import { RedisService } from '../infra/redis/redis.module';

export interface ShutdownLogger {
  log(message: string): void;
  error(message: string): void;
}

/**
 * Shuts down in dependency order within `timeoutMs`:
 * 1. readiness turns 503 and the HTTP server stops accepting connections;
 * 2. Nest hooks run: sessions close their sockets, workers finish or hand back
 *    their jobs (bounded by WorkerRegistry);
 * 3. queues, then Redis, then PostgreSQL are closed.
 * Resolves true when everything closed in time.
 */
export async function gracefulShutdown(app: INestApplication, timeoutMs: number, logger: ShutdownLogger): Promise<boolean> {
  const lifecycle = app.get(LifecycleService);
  const queues = app.get(QueuesService);
  const redis = app.get(RedisService);
  const prisma = app.get(PrismaService);
  const server = app.getHttpServer() as Server;

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
  });
  const sequence = (async () => {
    lifecycle.beginShutdown();
    logger.log('shutdown: no longer accepting HTTP connections');
    const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections?.();
    await app.close();
    await queues.closeAll();
    await redis.close();
    await prisma.disconnect();
    server.closeAllConnections?.();
    await httpClosed;
    return true as const;
  })();
  const done = await Promise.race([sequence, deadline]);
  clearTimeout(timer);
  if (!done) logger.error(`shutdown: not finished within ${timeoutMs} ms`);
  return done;
}

/**
 * Wires SIGTERM and SIGINT to `gracefulShutdown`: the first signal starts it,
 * later ones are ignored; the process exits 0 when everything closed within
 * `timeoutMs`, 1 otherwise. Used by main.ts and by process-level tests, so both
 * shut down the same way.
 */
export function installShutdownHandlers(
  app: INestApplication,
  timeoutMs: number,
  logger: ShutdownLogger,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received, shutting down`);
    void gracefulShutdown(app, timeoutMs, logger).then(
      (clean) => exit(clean ? 0 : 1),
      (error: unknown) => {
        logger.error(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
