// Benchmark (not a test): the `processed` cleanup job purging N done outbox rows (MessageQueueItem
// COMPLETED, older than PROCESSED_RETENTION_MINUTES) while new messages keep being accepted.
//
//   npm run bench:cleanup              # N = 1,000,000 rows
//   npm run bench:cleanup -- 100000    # another N
//
// Phases, in one run (ZapHub's figures beside a ceiling measured in the same run, as ratios:
// absolute numbers on this shared 2-core machine are noise):
//   1. seed: N Message rows (SENT) and their N outbox rows (COMPLETED, last changed 2 h ago) with
//      generate_series, in chunks; VACUUM ANALYZE.
//   2. baseline: the inserter alone for BENCH_BASELINE_S seconds (default 5): insert latency with
//      nothing else running.
//   3. ceiling: one raw `DELETE FROM "MessageQueueItem" WHERE "status" = 'COMPLETED' AND
//      "updatedAt" < cutoff` (a single giant statement, what the cleanup must never do) on a
//      connection of this process, with the inserter running: rows/s, and the insert latency
//      meanwhile.
//   4. the same N rows seeded again (VACUUM ANALYZE), then ZapHub: the compiled app from dist/ in this
//      process (APP_ROLE=all, crons set not to fire, CLEANUP_BATCH_SIZE from BENCH_BATCH, default
//      5000), its `processed` job started with POST /api/cleanup/processed/run and followed with
//      GET /api/cleanup; rows/s from the run's own duration (lastRows / lastDurationMs), and the
//      insert latency during the run (from the POST to the run's end).
// The inserter is a child process (its own event loop, so the app's work cannot delay its clock):
// open loop at BENCH_RATE inserts/s (default 500), each insert a transaction like the accept path's
// (BEGIN, INSERT Message QUEUED, INSERT MessageQueueItem PENDING, COMMIT) on a pg.Pool of 8;
// latency from the moment an insert was due (not when it could start: a stalled database shows)
// to its commit. Times are CLOCK_MONOTONIC (process.hrtime) in both processes.
//
// Targets (reported, not enforced): >= 30,000 rows/s and the worst insert < 100 ms during the
// purge. Exit status 1 when the bench could not run or the verification failed (every seeded row
// gone, every inserted row kept, lastRows = N, no lastError); 130 on Ctrl-C, after cleanup.
//
// One JSON line per measurement on stdout, each with "bench":"cleanup" (application logs at
// LOG_LEVEL=warn are JSON too, without that key); the summary also as text on stderr.
//
// Setup: a throwaway PostgreSQL database (migrated with scripts/prisma-migrate.mjs) and Redis key
// prefix, dropped at the end (also on Ctrl-C). Settings (env): BENCH_DATABASE_URL (admin
// connection, default TEST_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/postgres),
// BENCH_REDIS_URL (default TEST_REDIS_URL or redis://127.0.0.1:6379), BENCH_RATE (default 500),
// BENCH_BASELINE_S (default 5), BENCH_BATCH (CLEANUP_BATCH_SIZE of the app, default 5000),
// BENCH_LOG_LEVEL (the app's LOG_LEVEL, default warn).
import { execFileSync, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchTargets, deleteRedisKeys, onAdmin } from './lib/bench-store.mjs';
import { requestJson, retry } from './lib/bench-util.mjs';

const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '..');
const dist = (file) => path.join(ROOT, 'dist', file);

/** Milliseconds on CLOCK_MONOTONIC: the same clock in every process of the machine. */
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const SESSION = '5e55100d-0000-4000-8000-000000000001';
/** Rows per seeding statement. */
const SEED_CHUNK = 200_000;
const TARGET_ROWS_PER_SECOND = 30_000;
const TARGET_WORST_INSERT_MS = 100;
const NEVER = '0 0 1 1 *';

// --------------------------------------------------------------- inserter child

/**
 * Accepts messages like the API does, open loop at `rate`/s while running: each insert is a
 * transaction (Message QUEUED + its outbox row PENDING). Records, per insert, when it was due and
 * how long until its commit. The parent asks for what was recorded since its last `take`.
 */
async function inserterChild() {
  const init = await new Promise((resolve) => process.once('message', resolve));
  const pg = require('pg');
  const pool = new pg.Pool({ connectionString: init.databaseUrl, max: 8 });
  pool.on('error', () => undefined);
  const interval = 1000 / init.rate;
  let samples = [];
  let failures = 0;
  let inserted = 0;
  let running = false;
  let loop = null;
  let inFlight = 0;

  const insertOne = async (due, i) => {
    inFlight++;
    const client = await pool.connect();
    try {
      const id = randomUUID();
      const chat = `55119${String(i % 1000).padStart(8, '0')}@s.whatsapp.net`;
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO "Message" ("id", "sessionId", "chatId", "direction", "type", "status", "text", "content", "updatedAt")
         VALUES ($1, $2, $3, 'OUTBOUND', 'text', 'QUEUED', $4, $5, now())`,
        [id, init.session, chat, `bench message ${i}`, JSON.stringify({ type: 'text', text: `bench message ${i}` })],
      );
      await client.query(`INSERT INTO "MessageQueueItem" ("id", "sessionId", "chatId", "messageId", "updatedAt") VALUES ($1, $2, $3, $4, now())`, [randomUUID(), init.session, chat, id]);
      await client.query('COMMIT');
      inserted++;
      samples.push([due, now() - due]);
    } catch {
      failures++;
      await client.query('ROLLBACK').catch(() => undefined);
    } finally {
      client.release();
      inFlight--;
    }
  };

  const start = () => {
    running = true;
    const t0 = now();
    let issued = 0;
    loop = (async () => {
      while (running) {
        const due = Math.floor((now() - t0) / interval) + 1;
        while (issued < due) {
          const at = t0 + issued * interval;
          void insertOne(at, issued);
          issued++;
        }
        await sleep(1);
      }
    })();
  };

  process.on('message', async (message) => {
    if (message.cmd === 'start') {
      start();
      process.send({ seq: message.seq });
    } else if (message.cmd === 'take') {
      const taken = samples;
      samples = [];
      process.send({ seq: message.seq, samples: taken, failures, inserted, inFlight });
    } else if (message.cmd === 'stop') {
      running = false;
      await loop;
      while (inFlight > 0) await sleep(5);
      const taken = samples;
      samples = [];
      process.send({ seq: message.seq, samples: taken, failures, inserted, inFlight });
    } else if (message.cmd === 'close') {
      await pool.end().catch(() => undefined);
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ kind: 'ready' });
}

/** Request/answer over IPC with the inserter child. */
function inserterClient(child) {
  let seq = 0;
  const pending = new Map();
  child.on('message', (message) => {
    const waiter = pending.get(message.seq);
    if (waiter) {
      pending.delete(message.seq);
      waiter.resolve(message);
    }
  });
  child.on('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`the inserter child exited (${code})`));
    pending.clear();
  });
  return (cmd) =>
    new Promise((resolve, reject) => {
      if (!child.connected) return reject(new Error('the inserter child is gone'));
      const id = ++seq;
      pending.set(id, { resolve, reject });
      child.send({ cmd, seq: id });
    });
}

// ---------------------------------------------------------------------- main

async function main() {
  const arg = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? '1000000';
  const N = Number(arg);
  const RATE = Number(process.env.BENCH_RATE ?? 500);
  const BASELINE_S = Number(process.env.BENCH_BASELINE_S ?? 5);
  const BATCH = Number(process.env.BENCH_BATCH ?? 5000);
  const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
  for (const [name, value] of Object.entries({ N, BENCH_RATE: RATE, BENCH_BASELINE_S: BASELINE_S, BENCH_BATCH: BATCH })) {
    if (!(value > 0) || !Number.isInteger(value)) {
      process.stderr.write(`usage: cleanup.bench.mjs [N] (env BENCH_RATE, BENCH_BASELINE_S, BENCH_BATCH): ${name} must be a positive integer (got "${value}")\n`);
      process.exit(1);
    }
  }

  require('reflect-metadata');
  const pg = require('pg');
  const { createApp } = require(dist('bootstrap/create-app.js'));
  const { parseConfig } = require(dist('config/index.js'));

  const { adminUrl, redisUrl, dbName, databaseUrl, redisPrefix, apiKey } = benchTargets();

  let app = null;
  let inserter = null;
  let db = null;
  let cleaning = null;
  const cleanup = () => (cleaning ??= cleanupOnce());
  const cleanupOnce = async () => {
    if (app) await app.close().catch((e) => warn(`closing the app: ${e.message}`));
    app = null;
    if (inserter?.connected) inserter.send({ cmd: 'close' });
    if (db) await db.end().catch(() => undefined);
    await retry(() => onAdmin(adminUrl, `DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`)).catch((e) => warn(`dropping ${dbName}: ${e.message}`));
    await deleteRedisKeys(redisUrl, redisPrefix).catch((e) => warn(`deleting Redis keys ${redisPrefix}:*: ${e.message}`));
  };
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    warn('interrupted: cleaning up');
    void cleanup().finally(() => process.exit(130));
  });

  const problems = [];
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'prisma-migrate.mjs'), 'deploy'], { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: 'pipe' });
    db = new pg.Client({ connectionString: databaseUrl });
    db.on('error', (error) => warn(`bench database connection: ${error.message}`));
    await db.connect();
    await db.query(`INSERT INTO "Session" ("id", "name", "updatedAt") VALUES ($1, 'bench-cleanup', now())`, [SESSION]);
    const count = async (sql) => Number((await db.query(sql)).rows[0].n);

    inserter = fork(SELF, ['--inserter-child'], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    await new Promise((resolve, reject) => {
      inserter.once('message', resolve);
      inserter.once('exit', (code) => reject(new Error(`inserter child exited (${code})`)));
      inserter.send({ databaseUrl, session: SESSION, rate: RATE });
    });
    const ask = inserterClient(inserter);
    const os = require('node:os');
    const load = () => os.loadavg().map((l) => round(l));
    emit({ kind: 'setup', rows: N, insertRate: RATE, batchSize: BATCH, cpus: os.cpus().length, loadAverage: load() });

    /** N done rows: messages sent 3 h ago whose outbox row was left COMPLETED 2 h ago. */
    let seeded = 0;
    const seed = async () => {
      const started = now();
      for (let from = 1; from <= N; from += SEED_CHUNK) {
        const to = Math.min(N, from + SEED_CHUNK - 1);
        const base = seeded + from;
        const last = seeded + to;
        await db.query(
          `INSERT INTO "Message" ("id", "sessionId", "chatId", "direction", "type", "status", "text", "createdAt", "updatedAt", "sentAt")
           SELECT md5('m' || i)::uuid, $1, '55119' || lpad((i % 1000)::text, 8, '0') || '@s.whatsapp.net', 'OUTBOUND', 'text', 'SENT', 'seeded ' || i,
             timezone('UTC', now()) - interval '3 hours', timezone('UTC', now()) - interval '3 hours', timezone('UTC', now()) - interval '3 hours'
           FROM generate_series($2::int, $3::int) i`,
          [SESSION, base, last],
        );
        await db.query(
          `INSERT INTO "MessageQueueItem" ("id", "sessionId", "chatId", "messageId", "status", "createdAt", "updatedAt")
           SELECT md5('q' || i)::uuid, $1, '55119' || lpad((i % 1000)::text, 8, '0') || '@s.whatsapp.net', md5('m' || i)::uuid, 'COMPLETED',
             timezone('UTC', now()) - interval '3 hours', timezone('UTC', now()) - interval '2 hours'
           FROM generate_series($2::int, $3::int) i`,
          [SESSION, base, last],
        );
      }
      seeded += N;
      await db.query('VACUUM ANALYZE "MessageQueueItem"');
      await db.query('VACUUM ANALYZE "Message"');
      // Dirty pages written now, not by a checkpoint in the middle of a measurement.
      await db.query('CHECKPOINT');
      return now() - started;
    };
    const take = async () => (await ask('take')).samples;
    const latencies = (samples) => percentiles(samples.map(([, ms]) => ms));

    const config = parseConfig({
      NODE_ENV: 'development',
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: redisPrefix,
      API_KEY: apiKey,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: logLevel,
      CLEANUP_BATCH_SIZE: String(BATCH),
      CLEANUP_PROCESSED_CRON: NEVER,
      CLEANUP_EXPIRE_PENDING_CRON: NEVER,
      CLEANUP_HISTORY_CRON: NEVER,
      CLEANUP_JOBS_CRON: NEVER,
      CLEANUP_FLOWS_CRON: NEVER,
      CLEANUP_SUMMARY_CRON: NEVER,
    });
    /**
     * Starts the inserter afresh (its schedule begins now) and lets it settle: opening its
     * connections leaves a backlog of a few hundred ms that drains over the first seconds.
     */
    const startInserts = async () => {
      await ask('start');
      await sleep(3000);
      await take();
    };

    // ------------------------------------------------------------------ seed, app, baseline
    emit({ kind: 'seed', rows: N, ms: round(await seed()) });
    const bootStarted = now();
    app = await createApp(config);
    await app.listen(0, '127.0.0.1');
    const baseUrl = `http://127.0.0.1:${app.getHttpServer().address().port}`;
    const api = (method, route, body) => requestJson(`${baseUrl}${route}`, method, body, { 'x-api-key': apiKey });
    const job = async (name) => (await api('GET', '/api/cleanup')).body.find((j) => j.job === name);
    // The boot run of expire-pending (nothing is old enough to expire) is over.
    for (let j = await job('expire-pending'); !j.lastRunAt || j.running; j = await job('expire-pending')) await sleep(50);
    emit({ kind: 'boot', ms: round(now() - bootStarted) });
    await startInserts();
    const baselineStarted = now();
    await sleep(BASELINE_S * 1000);
        // Inserts due before the window (still draining the warm-up) are not part of it.
    const baseline = latencies((await take()).filter(([due]) => due >= baselineStarted));
    emit({ kind: 'baseline', seconds: BASELINE_S, insertMs: baseline });

    // ------------------------------------------------------------------ ceiling: one raw DELETE
    const rawStarted = now();
    const raw = await db.query(`DELETE FROM "MessageQueueItem" WHERE "status" = 'COMPLETED' AND "updatedAt" < timezone('UTC', now()) - interval '60 minutes'`);
    const rawMs = now() - rawStarted;
    const duringRaw = (await take()).filter(([due]) => due >= rawStarted && due <= rawStarted + rawMs);
    const ceiling = { rows: raw.rowCount, ms: round(rawMs), rowsPerSecond: Math.round(raw.rowCount / (rawMs / 1000)), insertMs: latencies(duringRaw) };
    emit({ kind: 'ceiling-raw-delete', ...ceiling });
    if (raw.rowCount !== N) problems.push(`the raw DELETE removed ${raw.rowCount} rows, ${N} seeded`);

    // ------------------------------------------------------------------ ZapHub
    let inserted = (await ask('stop')).inserted;
    emit({ kind: 'reseed', rows: N, ms: round(await seed()) });
    await startInserts();
    const postedAt = now();
    const posted = await api('POST', '/api/cleanup/processed/run');
    if (posted.status !== 202) throw new Error(`POST /api/cleanup/processed/run: ${posted.status} ${JSON.stringify(posted.body)}`);
    let run;
    for (;;) {
      run = await job('processed');
      if (run.lastRunAt && !run.running) break;
      await sleep(50);
    }
    const endedAt = now();
    const duringPurge = (await take()).filter(([due]) => due >= postedAt && due <= endedAt);
    const zaphub = {
      rows: run.lastRows,
      ms: run.lastDurationMs,
      rowsPerSecond: Math.round(run.lastRows / (run.lastDurationMs / 1000)),
      statements: Math.floor(run.lastRows / BATCH) + 2, // + the short COMPLETED batch and the FAILED pass
      insertMs: latencies(duringPurge),
      insertsDuringPurge: duringPurge.length,
    };
    emit({ kind: 'zaphub-processed', ...zaphub, lastError: run.lastError });
    if (run.lastError) problems.push(`the run failed: ${run.lastError}`);
    if (run.lastRows !== N) problems.push(`the run deleted ${run.lastRows} rows, ${N} seeded`);

    // ------------------------------------------------------------------ verification
    const stopped = await ask('stop');
    inserted = stopped.inserted; // the child's total, over both periods
    const left = await count(`SELECT count(*) AS n FROM "MessageQueueItem" WHERE "status" = 'COMPLETED'`);
    const pendingRows = await count(`SELECT count(*) AS n FROM "MessageQueueItem" WHERE "status" = 'PENDING'`);
    const messages = await count(`SELECT count(*) AS n FROM "Message"`);
    if (left) problems.push(`${left} COMPLETED rows left`);
    if (pendingRows !== inserted) problems.push(`${pendingRows} PENDING rows, ${inserted} inserted`);
    if (messages !== 2 * N + inserted) problems.push(`${messages} messages, ${2 * N + inserted} expected (messages are not the cleanup's to delete)`);
    if (stopped.failures) problems.push(`${stopped.failures} inserts failed`);
    emit({ kind: 'verification', completedLeft: left, inserted: inserted, pendingRows, insertFailures: stopped.failures, problems });

    const summary = {
      kind: 'summary',
      rows: N,
      loadAverage: load(),
      zaphubRowsPerSecond: zaphub.rowsPerSecond,
      rawDeleteRowsPerSecond: ceiling.rowsPerSecond,
      ratioToRawDelete: ratio(zaphub.rowsPerSecond, ceiling.rowsPerSecond),
      insertP99Ms: { baseline: baseline.p99, duringRawDelete: ceiling.insertMs.p99, duringZaphub: zaphub.insertMs.p99 },
      insertWorstMs: { baseline: baseline.max, duringRawDelete: ceiling.insertMs.max, duringZaphub: zaphub.insertMs.max },
      targets: {
        rowsPerSecond: { target: TARGET_ROWS_PER_SECOND, got: zaphub.rowsPerSecond, met: zaphub.rowsPerSecond >= TARGET_ROWS_PER_SECOND },
        worstInsertMs: { target: TARGET_WORST_INSERT_MS, got: zaphub.insertMs.max, met: zaphub.insertMs.max < TARGET_WORST_INSERT_MS },
      },
    };
    summary.text = [
      `cleanup bench, N = ${N.toLocaleString('en')} done outbox rows, inserts at ${RATE}/s, batches of ${BATCH} (load average ${summary.loadAverage.join(' ')} on ${os.cpus().length} cores: other work on the machine shows in every figure)`,
      `  ZapHub processed job: ${zaphub.rowsPerSecond.toLocaleString('en')} rows/s (${zaphub.ms} ms, ${zaphub.statements} statements) = ${summary.ratioToRawDelete} x one raw DELETE (${ceiling.rowsPerSecond.toLocaleString('en')} rows/s, ${ceiling.ms} ms)`,
      `  insert latency p50/p99/max ms: baseline ${fmt(baseline)} · during the raw DELETE ${fmt(ceiling.insertMs)} · during ZapHub's purge ${fmt(zaphub.insertMs)} (${zaphub.insertsDuringPurge} inserts)`,
      `  targets: >= ${TARGET_ROWS_PER_SECOND.toLocaleString('en')} rows/s ${summary.targets.rowsPerSecond.met ? 'MET' : 'MISSED'}; worst insert < ${TARGET_WORST_INSERT_MS} ms ${summary.targets.worstInsertMs.met ? 'MET' : 'MISSED'}`,
    ].join('\n');
    emit(summary);
    warn(summary.text);
    if (problems.length) throw new Error(`verification failed:\n  ${problems.join('\n  ')}`);
  } catch (error) {
    process.exitCode = interrupted ? 130 : 1;
    if (!interrupted) warn(`bench failed: ${error.stack ?? error}`);
  } finally {
    await cleanup();
  }
  process.exit(process.exitCode ?? 0);
}

// -------------------------------------------------------------------- helpers

function percentiles(values) {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (!sorted.length) return { n: 0, p50: null, p99: null, max: null };
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  return { n: sorted.length, p50: round(at(50)), p99: round(at(99)), max: round(sorted[sorted.length - 1]) };
}

function fmt(p) {
  return p.n ? `${p.p50}/${p.p99}/${p.max}` : 'n/a';
}

function round(n) {
  return Math.round(n * 10) / 10;
}

function ratio(a, b) {
  return b ? Math.round((a / b) * 100) / 100 : null;
}

function emit(measurement) {
  process.stdout.write(`${JSON.stringify({ bench: 'cleanup', ...measurement })}\n`);
}

function warn(message) {
  process.stderr.write(`[bench:cleanup] ${message}\n`);
}

if (process.argv.includes('--inserter-child')) await inserterChild();
else await main();
