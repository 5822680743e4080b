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
