import { Client } from 'pg';
import { query } from '../helpers/db-query';
import { waitFor } from '../helpers/test-env';
import { startTestApp, type TestApp } from '../helpers/test-app';

/**
 * A slow PostgreSQL never makes /metrics hang: a separate connection holds
 * `LOCK TABLE "MessageQueueItem" IN ACCESS EXCLUSIVE MODE` in an open
 * transaction, so the outbox gauges' query waits (without the bound, the scrape
 * would wait for the lock or the driver's 10 s query timeout). Every scrape
 * still answers quickly with the last values and `zaphub_metrics_stale{source="outbox"} 1`;
 * once the lock is released the read that was waiting completes in the
 * background and the next scrapes are fresh again (0).
 */
const SCRAPE_TIMEOUT_MS = 300;
/** Generous for a loaded CI machine; the lock would hold a scrape for seconds without the bound. */
const ANSWER_WITHIN_MS = 2000;

describe('GET /metrics with a slow database', () => {
  let t: TestApp;
  let locker: Client | undefined;

  beforeAll(async () => {
    t = await startTestApp({ METRICS_SCRAPE_TIMEOUT_MS: String(SCRAPE_TIMEOUT_MS) });
  });
  afterAll(async () => {
    await locker?.end().catch(() => undefined);
    await t?.close();
  });

  async function scrape(): Promise<{ text: string; ms: number }> {
    const started = performance.now();
    const res = await t.http.get('/metrics');
    const ms = performance.now() - started;
    expect(res.status).toBe(200);
    return { text: res.text, ms };
  }
  const sample = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  const stale = (text: string) => sample(text, 'zaphub_metrics_stale{source="outbox"}');

  it('serves the last outbox values marked stale within the bound while the table is locked, and fresh ones once it is released', async () => {
    // A failed outbox row, so the values served while the table is locked are visibly the last read ones.
    const created = await t.http.post('/api/sessions').set('X-Api-Key', t.apiKey).send({ name: 'stale-probe', start: false });
    expect(created.status).toBe(201);
    const [{ id: sessionId }] = await query<{ id: string }>(t.env.databaseUrl, `SELECT id FROM "Session" WHERE name = 'stale-probe'`);
    await query(
      t.env.databaseUrl,
      `WITH m AS (
         INSERT INTO "Message" (id, "sessionId", "chatId", direction, type, status, text, "updatedAt")
         VALUES (gen_random_uuid(), $1, '5511999990000@s.whatsapp.net', 'OUTBOUND', 'text', 'FAILED', 'x', now()) RETURNING id)
       INSERT INTO "MessageQueueItem" (id, "sessionId", "chatId", "messageId", status, "updatedAt")
       SELECT gen_random_uuid(), $1, '5511999990000@s.whatsapp.net', m.id, 'FAILED', now() FROM m`,
      [sessionId],
    );

    // Every scrape-time source reports its freshness; all fresh with a healthy database (a first read
    // slower than the bound on a loaded machine lands in the background: wait for that, do not sleep).
    const sources = ['outbox', 'sessions', 'webhook_endpoints', 'webhook_deliveries', 'queue_jobs', 'cleanup_state'];
    const before = await waitFor(
      async () => {
        const s = await scrape();
        return sources.every((source) => sample(s.text, `zaphub_metrics_stale{source="${source}"}`) === 0) ? s : null;
      },
      'every source fresh before the lock',
      15_000,
      100,
    );
    expect(sample(before.text, 'zaphub_message_queue_items{status="FAILED"}')).toBe(1);

    locker = new Client({ connectionString: t.env.databaseUrl });
    await locker.connect();
    await locker.query("SET lock_timeout = '10s'");
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE "MessageQueueItem" IN ACCESS EXCLUSIVE MODE');

    // The outbox values are cached for 5 s: scrape until the cache expires and the read meets the lock.
    const durations: number[] = [];
    const staleScrape = await waitFor(
      async () => {
        const s = await scrape();
        durations.push(s.ms);
        return stale(s.text) === 1 ? s : null;
      },
      'zaphub_metrics_stale{source="outbox"} 1',
      20_000,
      200,
    );
    expect(sample(staleScrape.text, 'zaphub_message_queue_items{status="FAILED"}')).toBe(1);

    // The gauge's query really is waiting for the lock (so the bound, not luck, answered the scrape).
    const blocked = await waitFor(async () => {
      const rows = (
        await locker!.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%FROM "MessageQueueItem" GROUP BY%'`,
        )
      ).rows;
      return Number(rows[0]!.n) > 0;
    }, 'the outbox query waiting for the lock', 5000);
    expect(blocked).toBe(true);

    // More scrapes while it waits: still bounded, still stale, still one read (no pile-up of queries).
    for (let i = 0; i < 2; i++) {
      const s = await scrape();
      durations.push(s.ms);
      expect(stale(s.text)).toBe(1);
    }
    const waitingQueries = await locker.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%FROM "MessageQueueItem" GROUP BY%'`,
    );
    expect(Number(waitingQueries.rows[0]!.n)).toBe(1);
    expect(Math.max(...durations)).toBeLessThan(ANSWER_WITHIN_MS);

    const slowReads = sample((await scrape()).text, 'zaphub_metrics_source_slow_reads_total{source="outbox"}');
    expect(slowReads).toBeGreaterThanOrEqual(1);

    await locker.query('ROLLBACK');
    await locker.end();
    locker = undefined;

    // The read that waited completes in the background; scrapes are fresh again.
    const fresh = await waitFor(
      async () => {
        const s = await scrape();
        expect(s.ms).toBeLessThan(ANSWER_WITHIN_MS);
        return stale(s.text) === 0 ? s : null;
      },
      'zaphub_metrics_stale{source="outbox"} 0 after the lock is released',
      20_000,
      100,
    );
    expect(sample(fresh.text, 'zaphub_metrics_source_age_seconds{source="outbox"}')).toBeLessThan(5);
    expect(sample(fresh.text, 'zaphub_message_queue_items{status="FAILED"}')).toBe(1);
  });
});
