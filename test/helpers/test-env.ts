import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import IORedis from 'ioredis';
import { Client } from 'pg';
import { parseConfig, type AppConfig } from '../../src/config';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { adminUrl, redisUrl, TEMPLATE_DB } = require('./db-names') as {
  adminUrl: () => string;
  redisUrl: () => string;
  TEMPLATE_DB: string;
};

export const TEST_API_KEY = 'test-api-key-0123456789abcdef';

export interface TestEnv {
  /** Environment map for parseConfig or a child process. */
  env: Record<string, string>;
  config: AppConfig;
  databaseUrl: string;
  redisPrefix: string;
  /** Drops the database and deletes the Redis keys of this env. */
  cleanup(): Promise<void>;
}

async function admin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A private database (cloned from the migrated template) and Redis key prefix
 * for one test file, plus a valid config pointing at them.
 */
export async function createTestEnv(overrides: Record<string, string> = {}): Promise<TestEnv> {
  const suffix = randomBytes(5).toString('hex');
  const dbName = `zaphub_t_${suffix}`;
  await admin(async (client) => {
    // Concurrent clones of one template can collide briefly: retry.
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE "${dbName}" TEMPLATE "${TEMPLATE_DB}"`);
        return;
      } catch (error) {
        if (attempt >= 20 || !/being accessed by other users/.test(String(error))) throw error;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  });
  const url = new URL(adminUrl());
  url.pathname = `/${dbName}`;
  const databaseUrl = url.toString();
  const redisPrefix = `zaphub-test-${suffix}`;
  const mediaDir = path.join(os.tmpdir(), `zaphub-media-${suffix}`);
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: redisPrefix,
    API_KEY: TEST_API_KEY,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    // Received media files of this test file (removed with it), never the working tree's ./data.
    MEDIA_DIR: mediaDir,
    // Tests compare exact values of one scrape: on a loaded CI machine a database read can take
    // longer than the production default (250 ms) and the scrape would serve the last values.
    // metrics-stale.e2e sets its own.
    METRICS_SCRAPE_TIMEOUT_MS: '2000',
    ...overrides,
  };
  return {
    env,
    config: parseConfig(env),
    databaseUrl,
    redisPrefix,
    async cleanup() {
      await admin((client) => client.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));
      await deleteRedisKeys(redisPrefix);
      // The owner queues' copies of this file's workers (queuePrefix: <prefix>-owner-<instance>).
      await deleteRedisKeys(`${redisPrefix}-owner-*`);
      await rm(mediaDir, { recursive: true, force: true });
    },
  };
}

async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new IORedis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * Polls `predicate` until it returns a truthy value; fails with `label` after
 * `timeoutMs`. An error thrown by the predicate ends the wait at once with that
 * error: retrying it until the timeout would hide the real failure behind a
 * late "timed out". A predicate that expects a transient error (a server that
 * is not listening yet) catches exactly that error itself. `label` may be a
 * function, read when the wait times out (e.g. to report the last answer seen).
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  label: string | (() => string),
  timeoutMs = 15000,
  intervalMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof label === 'function' ? label() : label}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** True for the error fetch() throws when nothing listens on the port (yet). */
export function isConnectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } } | null)?.cause;
  return (error as { code?: string } | null)?.code === 'ECONNREFUSED' || cause?.code === 'ECONNREFUSED';
}
