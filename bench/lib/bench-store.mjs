// Database and Redis housekeeping shared by the benchmarks: each bench runs against
// a private database and Redis key prefix and removes both when it ends.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Runs one statement on the admin connection (CREATE/DROP DATABASE). */
export async function onAdmin(adminUrl, sql) {
  const pg = require('pg');
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => undefined); // surfaces as the failed query below
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Deletes every Redis key under `prefix:`. */
export async function deleteRedisKeys(url, prefix) {
  const { Redis } = require('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * Where one bench run keeps its data: a private database (created by the bench, dropped at its
 * end) on the admin server of BENCH_DATABASE_URL (or TEST_DATABASE_URL), a private Redis key
 * prefix on BENCH_REDIS_URL (or TEST_REDIS_URL), and a fresh API key.
 */
export function benchTargets() {
  const { randomBytes } = require('node:crypto');
  const suffix = randomBytes(4).toString('hex');
  const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const redisUrl = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const dbName = `zaphub_bench_${suffix}`;
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${dbName}`;
  return { suffix, adminUrl, redisUrl, dbName, databaseUrl: dbUrl.toString(), redisPrefix: `zaphub-bench-${suffix}`, apiKey: randomBytes(24).toString('hex') };
}
