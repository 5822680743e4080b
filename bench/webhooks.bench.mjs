// Benchmark (not a test): webhook deliveries, from an event committed to the event log to its
// signed POST received by a local keep-alive HTTP receiver.
//
//   npm run bench:webhooks              # N = 5000 events per throughput phase
//   npm run bench:webhooks -- 20000     # another N
//
// Phases, in one run (each ZapHub figure beside its ceiling measured in the same run, as a ratio:
// absolute numbers on this shared 2-core machine are noise):
//
//   Ceilings, measured before the app boots (nothing of ZapHub runs meanwhile):
//   - raw POST: N keep-alive POSTs of envelopes like ZapHub's (same size, same headers, Standard
//     Webhooks signature computed per request) from this process to the same receiver, with the
//     delivery worker's concurrency (QUEUE_WEBHOOK_DELIVERY_CONCURRENCY, default 16) and an
//     http.Agent configured like ZapHub's (keepAlive, maxSockets 32, maxFreeSockets 8, lifo);
//     then the same POSTs open-loop at the latency phase's rate and duration (round trip, and send
//     to receipt).
//   - raw PostgreSQL append: N transactions with a pg.Pool of 10 (the size Prisma's pg adapter
//     uses) at the append concurrency: the statements EventLog.append and the delivery fan-out
//     issue (counter upsert, Event insert, WebhookDelivery insert-select), BEGIN..COMMIT.
//   - raw PostgreSQL delivery bookkeeping, row by row: for each of those deliveries, at the
//     delivery concurrency, the statements one attempt needs done naively (claim update, delivery
//     + webhook select, event select, outcome update). ZapHub batches them, so it may beat this.
//   - raw BullMQ: N one-job addBulk calls (a trigger per delivery, as retries use: same options,
//     custom job id, removeOnComplete) at the append concurrency, consumed by a no-op Worker at
//     the delivery concurrency, jobs/s from the first add to the last completion: what a job per
//     first attempt would cost (ZapHub's first attempts have none).
//   The raw rows are deleted (and the tables vacuumed) before the app boots.
//
//   ZapHub (compiled app from dist/, in this process; WEBHOOK_ALLOW_PRIVATE=true; one global
//   webhook subscribed to "*", created through POST /api/webhooks with a known secret; S sessions
//   created with POST /api/sessions {start:false}); events are appended with the app's own
//   TransactionRunner.run + EventLog.append (the path every ZapHub event takes):
//   1. throughput: N events as fast as possible (append concurrency C, round robin over the
//      sessions) while deliveries run: deliveries/s from the first commit to the last receipt,
//      beside raw POST/s and the rate the machine's cores could carry at this CPU cost per event
//      (raw and ZapHub); append commits/s beside raw PostgreSQL. Appends and deliveries share the
//      two cores here, and raw PostgreSQL appends alone are ~1,000/s: this figure is bounded by
//      the machine, not by the delivery side.
//   2. drain: the webhook-delivery queue paused (the dispatcher claims nothing), N events
//      appended, the queue resumed: deliveries/s from the first attempt to the last receipt
//      (the delivery side alone: the issue's figure, target >= 1,000/s).
//   3. latency: events appended open-loop at BENCH_RATE/s (default 200) for BENCH_LATENCY_S
//      seconds (default 10): p50/p99/max from commit to receipt, beside the raw POST round trip
//      at the same rate; plus where the time goes, per stage.
// "commit" is the moment the transaction committed: a TransactionRunner afterCommit callback
// registered before the append runs first, before the fan-out's wake-up hint. The time stamps
// of both processes are CLOCK_MONOTONIC (process.hrtime), so they compare across processes.
// Stages per event: append transaction (start to commit), commit to returned (the after-commit
// callbacks, awaited by TransactionRunner.run), commit to claimed (the attempt started:
// DeliveryAttemptService.run of the app, wrapped), claimed to receipt, receipt to recorded (the
// outcome written, in a batch).
// Per phase, the CPU each part used: this process (the app, or the raw sender), the receiver
// child, the PostgreSQL backends of the bench database (/proc), Redis (INFO cpu, the whole
// server) and the machine (/proc/stat, in cores busy), in total and per delivery; the SQL
// statements per event or delivery and the most frequent ones (counted at pg's Client.query in
// this process: the app's Prisma adapter and the raw pools); this process's event-loop delay.
// The throughput line also sets the CPU per event of all parts beside the sum of the ceilings'
// CPU per item ("rawPipeline"), and the rate the cores could carry at each cost.
// Memory of this process (after GC) after boot and after each phase.
//
// Exit status: 1 when the bench could not run or a delivery went wrong: every committed event
// must have been received exactly once, with a valid signature, answered 200, and every delivery
// row must be DELIVERED (duplicates, losses, bad signatures, unknown events, failed jobs). The
// targets (>= 1,000 deliveries/s; p99 < 200 ms at 200 events/s) are reported, not enforced; an
// append the app refuses in the latency phase (it did not keep up) is reported and fails the
// latency target, not the run. 130 on Ctrl-C, after cleanup.
//
// One JSON line per measurement on stdout, each with "bench":"webhooks" (application logs at
// LOG_LEVEL=warn are JSON too, without that key); the summary also as text on stderr.
//
// Setup: a throwaway PostgreSQL database (migrated with scripts/prisma-migrate.mjs) and Redis
// key prefix, dropped at the end (also on Ctrl-C: exit 130). The receiver runs in a child process
// (node:http, keep-alive as any Node server, answers 200 "ok", checks each signature), so neither
// side's work is in the other's figures and both get a core.
//
// Settings (env): BENCH_DATABASE_URL (admin connection, default TEST_DATABASE_URL or
// postgresql://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL (default TEST_REDIS_URL or
// redis://127.0.0.1:6379), BENCH_SESSIONS (default 10), BENCH_APPEND_CONCURRENCY (appends in
// flight in the throughput phases, default 10), BENCH_RATE (events/s of the latency phase, default
// 200), BENCH_LATENCY_S (default 10), QUEUE_WEBHOOK_DELIVERY_CONCURRENCY (passed to the app and
// used by the ceilings, default 16), BENCH_LOG_LEVEL (the app's LOG_LEVEL, default warn).
import { execFileSync, fork } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { benchTargets, deleteRedisKeys, onAdmin } from './lib/bench-store.mjs';
import { pool, requestJson, retry } from './lib/bench-util.mjs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '..');
const dist = (file) => path.join(ROOT, 'dist', file);

/** Milliseconds on CLOCK_MONOTONIC: the same clock in every process of the machine. */
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --------------------------------------------------------------- receiver child

/**
 * The webhook receiver: node:http with its defaults (keep-alive, 5 s idle timeout), answers
 * 200 "ok" to every POST, checks the Standard Webhooks signature against the secret it is given,
 * and records per webhook-id the first receipt time (after the body) and how many times it came.
 * The parent asks for what is new (`take`), counts, and CPU over IPC.
 */
async function receiverChild() {
  const init = await new Promise((resolve) => process.once('message', resolve));
  const key = Buffer.from(init.secret.slice('whsec_'.length), 'base64');
  const seen = new Map();
  let fresh = [];
  const duplicateIds = [];
  const stats = { requests: 0, connections: 0, duplicates: 0, badSignatures: 0, bodyMismatches: 0 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const t = now();
      stats.requests++;
      const body = Buffer.concat(chunks).toString('utf8');
      const id = req.headers['webhook-id'];
      const ts = req.headers['webhook-timestamp'];
      const signatures = String(req.headers['webhook-signature'] ?? '').split(' ');
      const expected = `v1,${createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')}`;
      const signed = typeof id === 'string' && typeof ts === 'string' && signatures.includes(expected);
      if (!signed) stats.badSignatures++;
      let envelope = null;
      try {
        envelope = JSON.parse(body);
      } catch {
        // counted below
      }
      if (envelope?.id !== id) stats.bodyMismatches++;
      const entry = seen.get(id);
      if (entry) {
        entry.n++;
        stats.duplicates++;
        duplicateIds.push(id);
      } else {
        const created = { id, t, n: 1, ok: signed && envelope?.id === id };
        seen.set(id, created);
        fresh.push(created);
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    });
  });
  server.on('connection', () => stats.connections++);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.send({ kind: 'ready', url: `http://127.0.0.1:${server.address().port}/hook` });
  process.on('message', (message) => {
    if (message.cmd === 'count') process.send({ seq: message.seq, distinct: seen.size, requests: stats.requests });
    else if (message.cmd === 'take') {
      const items = fresh.map((e) => [e.id, e.t, e.ok ? 1 : 0]);
      fresh = [];
      process.send({ seq: message.seq, items, stats, duplicateIds: duplicateIds.slice(0, 20) });
    } else if (message.cmd === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send({ seq: message.seq, cpuMs: (user + system) / 1000, stats });
    } else if (message.cmd === 'close') {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
}

/** Request/answer over IPC with the receiver child. */
function receiverClient(child) {
  let seq = 0;
  const pending = new Map();
  child.on('message', (message) => {
    const waiter = pending.get(message.seq);
    if (waiter) {
      pending.delete(message.seq);
      waiter.resolve(message);
    }
  });
  // A child that died answers nothing more: fail whoever waits instead of hanging.
  child.on('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`the receiver child exited (${code})`));
    pending.clear();
  });
  const ask = (cmd) =>
    new Promise((resolve, reject) => {
      if (!child.connected) return reject(new Error('the receiver child is gone'));
      const id = ++seq;
      pending.set(id, { resolve, reject });
      child.send({ cmd, seq: id });
    });
  const receipts = new Map(); // id -> { t, ok }
  return {
    ask,
    receipts,
    /** Pulls what the child received since the last take into `receipts`. */
    async take() {
      const answer = await ask('take');
      for (const [id, t, ok] of answer.items) receipts.set(id, { t, ok: ok === 1 });
      return answer;
    },
    /** Waits until `count` distinct ids have been received in all, then takes them. */
    async until(count, timeoutMs, what) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { distinct } = await ask('count');
        if (distinct >= count) return this.take();
        if (Date.now() > deadline) throw new Error(`${what}: ${distinct} of ${count} webhooks received after ${timeoutMs / 1000} s`);
        await sleep(20);
      }
    },
  };
}

// ---------------------------------------------------------------------- main

async function main() {
  if (typeof global.gc !== 'function') {
    process.stderr.write('run with node --expose-gc (npm run bench:webhooks does)\n');
    process.exit(1);
  }
  const arg = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? '5000';
  const N = Number(arg);
  const S = Number(process.env.BENCH_SESSIONS ?? 10);
  const C = Number(process.env.BENCH_APPEND_CONCURRENCY ?? 10);
  const RATE = Number(process.env.BENCH_RATE ?? 200);
  const LATENCY_S = Number(process.env.BENCH_LATENCY_S ?? 10);
  const W = Number(process.env.QUEUE_WEBHOOK_DELIVERY_CONCURRENCY ?? 16);
  const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
  for (const [name, value] of Object.entries({ N, BENCH_SESSIONS: S, BENCH_APPEND_CONCURRENCY: C, BENCH_RATE: RATE, BENCH_LATENCY_S: LATENCY_S, QUEUE_WEBHOOK_DELIVERY_CONCURRENCY: W })) {
    if (!(value > 0) || !Number.isFinite(value) || (name !== 'BENCH_LATENCY_S' && !Number.isInteger(value))) {
      process.stderr.write(`usage: webhooks.bench.mjs [N] (env BENCH_SESSIONS, BENCH_APPEND_CONCURRENCY, BENCH_RATE, BENCH_LATENCY_S): ${name} must be a positive integer (got "${value}")\n`);
      process.exit(1);
    }
  }

  require('reflect-metadata');
  const pg = require('pg');
  const { Redis } = require('ioredis');
  const { Queue, Worker } = require('bullmq');
  const { createApp } = require(dist('bootstrap/create-app.js'));
  const { parseConfig } = require(dist('config/index.js'));
  const { EventLog } = require(dist('infra/events/event-log.js'));
  const { TransactionRunner, afterCommit } = require(dist('infra/prisma/transaction.js'));
  const { QueuesService } = require(dist('infra/queues/queues.service.js'));
  const { QueueName, defaultJobOptions, JobId } = require(dist('infra/queues/queue-catalogue.js'));
  const { WebhookDeliveryProcessor } = require(dist('modules/webhooks/deliveries/webhook-delivery.processor.js'));
  const { DeliveryAttemptService } = require(dist('modules/webhooks/deliveries/delivery-attempt.service.js'));
  const { signatureHeader } = require(dist('modules/webhooks/deliveries/webhook-signer.js'));
  const { ZAPHUB_USER_AGENT } = require(dist('modules/webhooks/deliveries/user-agent.js'));

  const { adminUrl, redisUrl, dbName, databaseUrl, redisPrefix, apiKey } = benchTargets();
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const secretKey = Buffer.from(secret.slice('whsec_'.length), 'base64');

  let app = null;
  let receiver = null;
  let db = null;
  let redis = null;
  const closers = new Set(); // the ceilings' pool, queue and worker while they are open
  let cleaning = null;
  const cleanup = () => (cleaning ??= cleanupOnce());
  const cleanupOnce = async () => {
    for (const close of [...closers].reverse()) await Promise.resolve(close()).catch(() => undefined);
    closers.clear();
    if (app) await app.close().catch((e) => warn(`closing the app: ${e.message}`));
    app = null;
    if (receiver?.connected) receiver.send({ cmd: 'close' });
    if (db) await db.end().catch(() => undefined);
    if (redis) redis.disconnect();
    await retry(() => onAdmin(adminUrl, `DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`)).catch((e) => warn(`dropping ${dbName}: ${e.message}`));
    await deleteRedisKeys(redisUrl, redisPrefix).catch((e) => warn(`deleting Redis keys ${redisPrefix}:*: ${e.message}`));
  };
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    warn('interrupted: cleaning up');
    void cleanup().finally(() => process.exit(130));
  });

  try {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'prisma-migrate.mjs'), 'deploy'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: 'pipe',
    });
    db = new pg.Client({ connectionString: databaseUrl });
    db.on('error', (error) => warn(`bench database connection: ${error.message}`));
    await db.connect();
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);

    receiver = fork(SELF, ['--receiver-child'], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const receiverUrl = await new Promise((resolve, reject) => {
      receiver.once('message', (message) => resolve(message.url));
      receiver.once('exit', (code) => reject(new Error(`receiver child exited (${code})`)));
      receiver.send({ secret });
    });
    receiver.on('exit', (code) => {
      if (!cleaning && !interrupted) warn(`the receiver child exited (${code}) during the run`);
    });
    const rx = receiverClient(receiver);
    const usage = new CpuMeter(db, redis, rx, dbName);
    const statements = countStatements(pg, db);
    emit({ kind: 'setup', events: N, sessions: S, appendConcurrency: C, deliveryConcurrency: W, rate: RATE, latencySeconds: LATENCY_S, cpus: cpuCount() });

    const data = (i) => ({
      id: `3EB0${randomBytes(10).toString('hex').toUpperCase()}`,
      chatId: '15550001111@s.whatsapp.net',
      from: '15550001111@s.whatsapp.net',
      fromMe: false,
      pushName: 'Bench Contact',
      type: 'text',
      text: `Hello from the webhook benchmark, message number ${i}: the quick brown fox jumps over the lazy dog.`,
      timestamp: 1_790_000_000 + i,
    });

    // --------------------------------------------------------------- ceilings (no app)
    const agentOptions = { keepAlive: true, maxSockets: 32, maxFreeSockets: 8, scheduling: 'lifo' };
    const rawEnvelope = (prefix, i) => ({
      id: `evt_${prefix}${randomUUID().replace(/-/g, '').slice(prefix.length)}`,
      event: 'message.received',
      session: `bench-${i % S}`,
      sequence: Math.floor(i / S) + 1,
      timestamp: new Date().toISOString(),
      data: data(i),
    });
    const rawPost = (agent, envelope) => {
      // What DeliveryAttemptService.send does per attempt: serialize, sign, POST.
      const body = JSON.stringify(envelope);
      const timestamp = Math.floor(Date.now() / 1000);
      return post(agent, receiverUrl, body, {
        'content-type': 'application/json',
        'user-agent': ZAPHUB_USER_AGENT,
        'webhook-id': envelope.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader([secretKey], envelope.id, timestamp, body),
        'x-zaphub-event': envelope.event,
        'x-zaphub-session': envelope.session,
      });
    };

    // raw POST throughput
    const ceilings = {};
    {
      const agent = new http.Agent(agentOptions);
      const before = await usage.snapshot();
      const stats0 = (await rx.ask('cpu')).stats;
      const started = now();
      let lastDone = 0;
      await pool(range(N), W, async (i) => {
        const response = await rawPost(agent, rawEnvelope('a', i));
        if (response.status !== 200) throw new Error(`raw POST answered ${response.status}`);
        lastDone = response.doneAt;
      });
      await rx.until(N, 30_000, 'raw POST throughput');
      const cpu = usage.delta(before, await usage.snapshot(), N);
      const stats1 = (await rx.ask('cpu')).stats;
      agent.destroy();
      const perSecond = N / ((lastDone - started) / 1000);
      ceilings.postPerSecond = perSecond;
      ceilings.postCpu = cpu.msPerDelivery;
      emit({ kind: 'ceiling-post-throughput', requests: N, concurrency: W, ms: round(lastDone - started), perSecond: Math.round(perSecond), receiverConnections: stats1.connections - stats0.connections, cpu });
    }
    // raw POST latency, open loop at RATE/s
    {
      const agent = new http.Agent(agentOptions);
      const sent = new Map();
      const roundTrips = [];
      const total = Math.round(RATE * LATENCY_S);
      const before = await usage.snapshot();
      const stats0 = (await rx.ask('cpu')).stats;
      await openLoop(RATE, total, async (i) => {
        const envelope = rawEnvelope('b', i);
        const sentAt = now();
        sent.set(envelope.id, sentAt);
        const response = await rawPost(agent, envelope);
        if (response.status !== 200) throw new Error(`raw POST answered ${response.status}`);
        roundTrips.push(response.doneAt - sentAt);
      });
      const received = rx.receipts.size;
      await rx.until(N + total, 30_000, 'raw POST latency');
      const cpu = usage.delta(before, await usage.snapshot(), total);
      const stats1 = (await rx.ask('cpu')).stats;
      agent.destroy();
      const toReceipt = [...sent].map(([id, at]) => rx.receipts.get(id).t - at);
      if (rx.receipts.size - received !== total) throw new Error('raw POST latency: receipts missing');
      ceilings.roundTrip = percentiles(roundTrips);
      ceilings.sendToReceipt = percentiles(toReceipt);
      emit({ kind: 'ceiling-post-latency', requests: total, rate: RATE, roundTripMs: ceilings.roundTrip, sendToReceiptMs: ceilings.sendToReceipt, receiverConnections: stats1.connections - stats0.connections, cpu });
    }
    rx.receipts.clear();
    const rawReceived = N + Math.round(RATE * LATENCY_S);

    // raw PostgreSQL: the append transaction, then the bookkeeping of one delivery attempt
    {
      const rawSessions = [];
      for (let s = 0; s < S; s++) {
        const { rows } = await db.query(`INSERT INTO "Session" ("id", "name", "updatedAt") VALUES (gen_random_uuid(), $1, now()) RETURNING "id", "name"`, [`raw-${s}`]);
        rawSessions.push(rows[0]);
      }
      const { rows: hook } = await db.query(
        `INSERT INTO "Webhook" ("id", "sessionId", "url", "events", "secret", "updatedAt") VALUES (gen_random_uuid(), NULL, $1, ARRAY['*'], $2, now()) RETURNING "id"`,
        [`${receiverUrl}-raw-never-called`, secret],
      );
      const rawPool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
      rawPool.on('error', () => undefined);
      closers.add(() => rawPool.end());
      const deliveryIds = [];
      const before = await usage.snapshot();
      const sql0 = statements.snapshot();
      const started = now();
      let lastCommit = 0;
      await pool(range(N), C, async (i) => {
        const session = rawSessions[i % S];
        const client = await rawPool.connect();
        try {
          await client.query('BEGIN');
          const counter = await client.query(
            `INSERT INTO "EventCounter" ("sessionId", "lastSequence") VALUES ($1::uuid, 1)
             ON CONFLICT ("sessionId") DO UPDATE SET "lastSequence" = "EventCounter"."lastSequence" + 1 RETURNING "lastSequence"`,
            [session.id],
          );
          const createdAt = new Date();
          const event = await client.query(
            `INSERT INTO "Event" ("id", "sessionId", "sessionName", "sequence", "type", "data", "createdAt") VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
            [`evt_${randomUUID().replace(/-/g, '')}`, session.id, session.name, counter.rows[0].lastSequence, 'message.received', JSON.stringify(data(i)), createdAt],
          );
          const fanned = await client.query(
            `INSERT INTO "WebhookDelivery" ("id", "webhookId", "eventId", "sessionId", "eventType", "nextAttemptAt", "createdAt")
             SELECT gen_random_uuid(), w."id", $1, $2::uuid, $3, $4, $4
             FROM "Webhook" w
             WHERE w."status" = 'ACTIVE' AND (w."sessionId" = $2::uuid OR w."sessionId" IS NULL)
               AND (w."events" @> ARRAY['*'] OR w."events" @> ARRAY[$3])
             ORDER BY w."createdAt", w."id"
             ON CONFLICT ("eventId", "webhookId") DO NOTHING
             RETURNING "id"`,
            [event.rows[0].id, session.id, 'message.received', createdAt],
          );
          await client.query('COMMIT');
          lastCommit = now();
          for (const row of fanned.rows) deliveryIds.push(row.id);
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        } finally {
          client.release();
        }
      });
      const appendMs = lastCommit - started;
      const appendCpu = usage.delta(before, await usage.snapshot(), N);
      const appendSql = statements.since(sql0, N);
      if (deliveryIds.length !== N) throw new Error(`raw fan-out made ${deliveryIds.length} deliveries for ${N} events`);
      ceilings.appendPerSecond = N / (appendMs / 1000);
      ceilings.appendCpu = appendCpu.msPerDelivery;
      emit({ kind: 'ceiling-pg-append', transactions: N, concurrency: C, poolSize: 10, ms: round(appendMs), perSecond: Math.round(ceilings.appendPerSecond), sqlStatementsPerEvent: appendSql.perItem, cpu: appendCpu });

      const before2 = await usage.snapshot();
      const sql1 = statements.snapshot();
      const started2 = now();
      let lastRecorded = 0;
      await pool(deliveryIds, W, async (id) => {
        const at = new Date();
        const lease = new Date(at.getTime() + 40_000);
        const claim = await rawPool.query(`UPDATE "WebhookDelivery" SET "nextAttemptAt" = $3 WHERE "id" = $1 AND "status" = 'PENDING' AND "nextAttemptAt" <= $2`, [id, at, lease]);
        if (claim.rowCount !== 1) throw new Error(`raw claim of ${id} updated ${claim.rowCount} rows`);
        const { rows } = await rawPool.query(
          `SELECT d.*, w."id" AS "w_id", w."url", w."status" AS "w_status", w."secret", w."previousSecret", w."previousSecretExpiresAt"
             FROM "WebhookDelivery" d JOIN "Webhook" w ON w."id" = d."webhookId" WHERE d."id" = $1`,
          [id],
        );
        await rawPool.query('SELECT * FROM "Event" WHERE "id" = ANY($1)', [[rows[0].eventId]]);
        const done = await rawPool.query(
          `UPDATE "WebhookDelivery" SET "status" = 'DELIVERED', "attempts" = $2, "lastStatusCode" = 200, "lastError" = NULL, "deliveredAt" = $3
            WHERE "id" = $1 AND "status" = 'PENDING' AND "attempts" = $4 AND "nextAttemptAt" = $5`,
          [id, rows[0].attempts + 1, new Date(), rows[0].attempts, rows[0].nextAttemptAt],
        );
        if (done.rowCount !== 1) throw new Error(`raw record of ${id} updated ${done.rowCount} rows`);
        lastRecorded = now();
      });
      const bookkeepingMs = lastRecorded - started2;
      const bookkeepingCpu = usage.delta(before2, await usage.snapshot(), N);
      const bookkeepingSql = statements.since(sql1, N);
      ceilings.bookkeepingPerSecond = N / (bookkeepingMs / 1000);
      ceilings.bookkeepingCpu = bookkeepingCpu.msPerDelivery;
      emit({ kind: 'ceiling-pg-delivery-bookkeeping', deliveries: N, concurrency: W, poolSize: 10, ms: round(bookkeepingMs), perSecond: Math.round(ceilings.bookkeepingPerSecond), sqlStatementsPerDelivery: bookkeepingSql.perItem, cpu: bookkeepingCpu });
      await rawPool.end();
      closers.clear();
      // Nothing of the ceiling may reach the app: no raw webhook (it would match every event), no pending row.
      await db.query('DELETE FROM "Webhook" WHERE "id" = $1', [hook[0].id]);
      await db.query('DELETE FROM "Session" WHERE "id" = ANY($1::uuid[])', [rawSessions.map((s) => s.id)]);
      await db.query('VACUUM ANALYZE "Event", "EventCounter", "WebhookDelivery", "Session", "Webhook"');
    }

    // raw BullMQ: one-job addBulk per event (the after-commit trigger), a no-op worker
    {
      const connection = { url: redisUrl, maxRetriesPerRequest: null };
      const name = 'raw-ceiling';
      const jobOptions = defaultJobOptions(parseConfig(minimalEnv(databaseUrl, redisUrl, redisPrefix, apiKey)), QueueName.WebhookDelivery);
      const queue = new Queue(name, { connection, prefix: redisPrefix, defaultJobOptions: jobOptions });
      closers.add(() => queue.close());
      let completed = 0;
      let lastCompleted = 0;
      let allDone;
      const finished = new Promise((resolve) => (allDone = resolve));
      const worker = new Worker(name, async () => undefined, { connection, prefix: redisPrefix, concurrency: W });
      closers.add(() => worker.close());
      worker.on('completed', () => {
        lastCompleted = now();
        if (++completed === N) allDone();
      });
      await worker.waitUntilReady();
      await queue.waitUntilReady();
      const before = await usage.snapshot();
      const started = now();
      let lastAdded = 0;
      await pool(range(N), C, async () => {
        const id = randomUUID();
        await queue.addBulk([{ name, data: { deliveryId: id }, opts: { jobId: JobId.webhookDelivery(id, 0) } }]);
        lastAdded = now();
      });
      await Promise.race([finished, sleep(60_000).then(() => Promise.reject(new Error(`raw BullMQ: ${completed} of ${N} jobs completed after 60 s`)))]);
      const cpu = usage.delta(before, await usage.snapshot(), N);
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      closers.clear();
      ceilings.bullmqPerSecond = N / ((lastCompleted - started) / 1000);
      ceilings.bullmqCpu = cpu.msPerDelivery;
      emit({
        kind: 'ceiling-bullmq',
        jobs: N,
        producerConcurrency: C,
        workerConcurrency: W,
        addMs: round(lastAdded - started),
        addPerSecond: Math.round(N / ((lastAdded - started) / 1000)),
        ms: round(lastCompleted - started),
        perSecond: Math.round(ceilings.bullmqPerSecond),
        cpu,
      });
    }

    // ------------------------------------------------------------------------ the app
    const config = parseConfig({
      ...minimalEnv(databaseUrl, redisUrl, redisPrefix, apiKey),
      LOG_LEVEL: logLevel,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      AUTH_STATE_KEY: randomBytes(32).toString('hex'), // secrets encrypted at rest, as in production
      QUEUE_WEBHOOK_DELIVERY_CONCURRENCY: String(W),
    });
    const bootStarted = Date.now();
    app = await createApp(config);
    await app.listen(0, '127.0.0.1');
    const baseUrl = `http://127.0.0.1:${app.getHttpServer().address().port}`;
    const api = (method, route, body) => requestJson(`${baseUrl}${route}`, method, body, { 'x-api-key': apiKey });
    for (let s = 0; s < S; s++) {
      const created = await api('POST', '/api/sessions', { name: `bench-${s}`, start: false });
      if (created.status !== 201) throw new Error(`create session bench-${s}: ${created.status} ${JSON.stringify(created.body)}`);
    }
    // The API names sessions; the event log wants their ids.
    const { rows: sessions } = await db.query('SELECT "id", "name" FROM "Session" WHERE "name" LIKE $1 ORDER BY "createdAt"', ['bench-%']);
    if (sessions.length !== S) throw new Error(`${sessions.length} sessions stored, ${S} created`);
    // After the sessions: their creation events are not delivered.
    const webhook = await api('POST', '/api/webhooks', { url: receiverUrl, secret });
    if (webhook.status !== 201) throw new Error(`create webhook: ${webhook.status} ${JSON.stringify(webhook.body)}`);
    const log = app.get(EventLog, { strict: false });
    const runner = app.get(TransactionRunner, { strict: false });
    const queues = app.get(QueuesService, { strict: false });
    const deliveryWorker = app.get(WebhookDeliveryProcessor, { strict: false }).worker;
    emit({ kind: 'boot', ms: Date.now() - bootStarted, webhookId: webhook.body.id, deliveryWorkerConcurrency: deliveryWorker.concurrency });

    // Per delivery id: when its job became active and completed (listeners on the app's own worker).
    // Per delivery id: when its attempt started (claimed, by the dispatcher or a trigger) and ended
    // (outcome written): DeliveryAttemptService.run of the app's own instance, wrapped.
    const jobTimes = new Map();
    const attemptService = app.get(DeliveryAttemptService, { strict: false });
    const originalRun = attemptService.run.bind(attemptService);
    attemptService.run = async (claimed, envelopes, onSent) => {
      const times = { active: now(), completed: 0 };
      jobTimes.set(claimed.id, times);
      try {
        return await originalRun(claimed, envelopes, onSent);
      } finally {
        times.completed = now();
      }
    };
    let failedJobs = 0;
    deliveryWorker.on('failed', () => failedJobs++);

    const expected = new Set(); // every event id appended
    let seq = 0;
    /** One event through the app's own path; its time stamps. */
    const appendOne = async (i) => {
      const session = sessions[i % S];
      const record = { id: null, start: now(), commit: 0, enqueued: 0 };
      const envelope = await runner.run(async (tx) => {
        // Registered first, so it runs first after the commit (before the fan-out's trigger enqueue).
        afterCommit(tx, () => void (record.commit = now()));
        return log.append(tx, { sessionId: session.id, sessionName: session.name, type: 'message.received', data: data(seq++) });
      });
      record.enqueued = now();
      record.id = envelope.id;
      expected.add(envelope.id);
      return record;
    };
    /** After a phase: receipts, job times and delivery rows joined per event. */
    const collect = async (records, what, timeoutMs = 120_000) => {
      await rx.until(rawReceived + expected.size, timeoutMs, what);
      records.usageAtEnd = await usage.snapshot();
      // A job's 'completed' event comes after its POST was answered and the row updated.
      await sleep(200);
      const { rows } = await db.query('SELECT "id", "eventId", "attempts", "status" FROM "WebhookDelivery" WHERE "eventId" = ANY($1)', [records.map((r) => r.id)]);
      const byEvent = new Map(rows.map((row) => [row.eventId, row]));
      return records.map((r) => {
        const delivery = byEvent.get(r.id);
        const receipt = rx.receipts.get(r.id);
        const job = delivery ? jobTimes.get(delivery.id) : undefined;
        rx.receipts.delete(r.id); // checked here; keeps the bench's own bookkeeping out of the memory figures
        return { ...r, receipt: receipt?.t ?? NaN, signed: receipt?.ok ?? false, active: job?.active ?? NaN, completed: job?.completed ?? NaN, attempts: delivery?.attempts, status: delivery?.status };
      });
    };
    const stages = (rows) => ({
      commitToReceiptMs: percentiles(rows.map((r) => r.receipt - r.commit)),
      stages: {
        appendTransactionMs: percentiles(rows.map((r) => r.commit - r.start)),
        commitToReturnedMs: percentiles(rows.map((r) => r.enqueued - r.commit)),
        commitToClaimedMs: percentiles(rows.map((r) => r.active - r.commit)),
        claimedToReceiptMs: percentiles(rows.map((r) => r.receipt - r.active)),
        receiptToRecordedMs: percentiles(rows.map((r) => r.completed - r.receipt)),
      },
    });
    const problems = [];
    const check = (rows, phase) => {
      const unreceived = rows.filter((r) => Number.isNaN(r.receipt)).length;
      const unsigned = rows.filter((r) => !Number.isNaN(r.receipt) && !r.signed).length;
      const notDelivered = rows.filter((r) => r.status !== 'DELIVERED').length;
      const retried = rows.filter((r) => r.attempts !== 1).length;
      if (unreceived) problems.push(`${phase}: ${unreceived} events never received`);
      if (unsigned) problems.push(`${phase}: ${unsigned} webhooks with a bad signature or a body whose id is not the webhook-id`);
      if (notDelivered) problems.push(`${phase}: ${notDelivered} delivery rows not DELIVERED (or missing)`);
      return { retriedDeliveries: retried };
    };
    const finishPhase = async () => {
      jobTimes.clear();
      return memory(1000);
    };

    const baseline = await memory(1000);
    emit({ kind: 'memory', phase: 'after-boot', ...baseline });
    const memories = { baseline };

    // 1. throughput: appends as fast as possible while deliveries run
    const results = {};
    {
      const before = await usage.snapshot();
      const sql0 = statements.snapshot();
      const rxStats0 = (await rx.ask('cpu')).stats;
      const loop = loopDelay();
      const records = [];
      await pool(range(N), C, async (i) => records.push(await appendOne(i)));
      const appendsDone = now();
      const rows = await collect(records, 'throughput phase');
      const cpu = usage.delta(before, records.usageAtEnd, N);
      const sql = statements.since(sql0, N);
      const eventLoopDelayMs = loop.stop();
      const rxStats1 = (await rx.ask('cpu')).stats;
      const firstCommit = Math.min(...rows.map((r) => r.commit));
      const firstStart = Math.min(...rows.map((r) => r.start));
      const lastCommit = Math.max(...rows.map((r) => r.commit));
      const lastReceipt = Math.max(...rows.map((r) => r.receipt));
      const deliveriesPerSecond = N / ((lastReceipt - firstCommit) / 1000);
      const appendsPerSecond = N / ((lastCommit - firstStart) / 1000);
      const budget = cpuBudget(cpu.msPerDelivery, ceilings);
      results.throughput = { deliveriesPerSecond, appendsPerSecond, budget };
      memories.throughput = await finishPhase();
      emit({
        kind: 'throughput',
        events: N,
        appendConcurrency: C,
        deliveryConcurrency: W,
        firstCommitToLastReceiptMs: round(lastReceipt - firstCommit),
        deliveriesPerSecond: Math.round(deliveriesPerSecond),
        rawPostPerSecond: Math.round(ceilings.postPerSecond),
        ratioToRawPost: ratio(deliveriesPerSecond, ceilings.postPerSecond),
        appendsPerSecond: Math.round(appendsPerSecond),
        rawPgAppendPerSecond: Math.round(ceilings.appendPerSecond),
        appendRatioToRawPg: ratio(appendsPerSecond, ceilings.appendPerSecond),
        backlogAtLastCommit: rows.filter((r) => r.receipt > lastCommit).length,
        drainAfterLastCommitMs: round(lastReceipt - Math.max(lastCommit, appendsDone)),
        ...stages(rows),
        ...check(rows, 'throughput'),
        sqlStatementsPerEvent: sql.perItem,
        sqlStatementTexts: sql.top,
        eventLoopDelayMs,
        receiverConnections: rxStats1.connections - rxStats0.connections,
        cpu,
        cpuPerEvent: budget,
        memory: memories.throughput,
      });
    }

    // 2. drain: the deliveries of N events queued while the queue is paused, then resumed
    {
      const queue = queues.get(QueueName.WebhookDelivery);
      await queue.pause();
      const records = [];
      await pool(range(N), C, async (i) => records.push(await appendOne(i)));
      await sleep(500);
      const before = await usage.snapshot();
      const sql0 = statements.snapshot();
      const rxStats0 = (await rx.ask('cpu')).stats;
      const loop = loopDelay();
      const resumedAt = now();
      await queue.resume();

      const rows = await collect(records, 'drain phase');
      const cpu = usage.delta(before, records.usageAtEnd, N);
      const sql = statements.since(sql0, N);
      const eventLoopDelayMs = loop.stop();
      const rxStats1 = (await rx.ask('cpu')).stats;
      const lastReceipt = Math.max(...rows.map((r) => r.receipt));
      // From the first attempt: a paused dispatcher looks again within a second of the resume.
      const firstAttempt = Math.min(...rows.map((r) => r.active));
      const deliveriesPerSecond = N / ((lastReceipt - firstAttempt) / 1000);
      results.drain = { deliveriesPerSecond };
      memories.drain = await finishPhase();
      emit({
        kind: 'drain',
        deliveries: N,
        deliveryConcurrency: W,
        resumeToLastReceiptMs: round(lastReceipt - resumedAt),
        firstAttemptToLastReceiptMs: round(lastReceipt - firstAttempt),
        deliveriesPerSecond: Math.round(deliveriesPerSecond),
        rawPostPerSecond: Math.round(ceilings.postPerSecond),
        ratioToRawPost: ratio(deliveriesPerSecond, ceilings.postPerSecond),
        rawPgBookkeepingPerSecond: Math.round(ceilings.bookkeepingPerSecond),
        ratioToRawPgBookkeeping: ratio(deliveriesPerSecond, ceilings.bookkeepingPerSecond),
        rawBullmqPerSecond: Math.round(ceilings.bullmqPerSecond),
        claimedToReceiptMs: percentiles(rows.map((r) => r.receipt - r.active)),
        receiptToRecordedMs: percentiles(rows.map((r) => r.completed - r.receipt)),
        ...check(rows, 'drain'),
        sqlStatementsPerDelivery: sql.perItem,
        sqlStatementTexts: sql.top,
        eventLoopDelayMs,
        receiverConnections: rxStats1.connections - rxStats0.connections,
        cpu,
        memory: memories.drain,
      });
    }

    // 3. latency: open loop at RATE events/s
    {
      const total = Math.round(RATE * LATENCY_S);
      const before = await usage.snapshot();
      const sql0 = statements.snapshot();
      const rxStats0 = (await rx.ask('cpu')).stats;
      const loop = loopDelay();
      const records = [];
      const lateStarts = [];
      // An append the app refuses (e.g. no pooled connection within Prisma's maxWait) rolled back:
      // no event, no delivery. Counted and reported: the app did not keep up with the rate.
      const appendErrors = new Map();
      await openLoop(RATE, total, async (i, due) => {
        lateStarts.push(now() - due);
        try {
          records.push(await appendOne(i));
        } catch (error) {
          const lines = String(error.message).split('\n').filter((l) => l.trim());
          const key = `${error.code ?? error.name}: ${lines[lines.length - 1]?.trim()}`;
          appendErrors.set(key, (appendErrors.get(key) ?? 0) + 1);
        }
      });
      const rows = await collect(records, 'latency phase');
      const cpu = usage.delta(before, records.usageAtEnd, records.length);
      const sql = statements.since(sql0, records.length);
      const eventLoopDelayMs = loop.stop();
      const rxStats1 = (await rx.ask('cpu')).stats;
      const s = stages(rows);
      const failedAppends = total - records.length;
      if (failedAppends) warn(`latency phase: ${failedAppends} of ${total} appends failed: ${JSON.stringify(Object.fromEntries(appendErrors))}`);
      results.latency = { ...s.commitToReceiptMs, failedAppends };
      memories.latency = await finishPhase();
      emit({
        kind: 'latency',
        events: total,
        rate: RATE,
        failedAppends,
        appendErrors: Object.fromEntries(appendErrors),
        ...s,
        rawRoundTripMs: ceilings.roundTrip,
        rawSendToReceiptMs: ceilings.sendToReceipt,
        p50RatioToRawRoundTrip: ratio(s.commitToReceiptMs.p50, ceilings.roundTrip.p50),
        p99RatioToRawRoundTrip: ratio(s.commitToReceiptMs.p99, ceilings.roundTrip.p99),
        appendStartedLateMs: percentiles(lateStarts),
        ...check(rows, 'latency'),
        sqlStatementsPerEvent: sql.perItem,
        eventLoopDelayMs,
        receiverConnections: rxStats1.connections - rxStats0.connections,
        cpu,
        memory: memories.latency,
      });
    }

    // ------------------------------------------------------------------ verification
    const final = await rx.take();
    const extra = [...rx.receipts.keys()].filter((id) => !expected.has(id));
    if (final.stats.duplicates) problems.push(`${final.stats.duplicates} webhooks received more than once (e.g. ${final.duplicateIds.join(', ')})`);
    if (final.stats.badSignatures) problems.push(`${final.stats.badSignatures} requests with a bad signature`);
    if (extra.length) problems.push(`${extra.length} webhooks received for events the bench did not append (e.g. ${extra.slice(0, 5).join(', ')})`);
    const { rows: statuses } = await db.query('SELECT "status", "attempts", count(*)::int AS n FROM "WebhookDelivery" GROUP BY 1, 2 ORDER BY 1, 2');
    const { rows: eventCount } = await db.query('SELECT count(*)::int AS n FROM "Event" WHERE "type" = $1', ['message.received']);
    const delivered = statuses.filter((r) => r.status === 'DELIVERED').reduce((sum, r) => sum + r.n, 0);
    if (eventCount[0].n !== expected.size) problems.push(`${eventCount[0].n} events stored, ${expected.size} appended`);
    if (delivered !== expected.size || statuses.some((r) => r.status !== 'DELIVERED')) problems.push(`delivery rows: ${JSON.stringify(statuses)} for ${expected.size} events`);
    if (failedJobs) problems.push(`${failedJobs} webhook-delivery jobs failed`);
    emit({ kind: 'verification', events: expected.size, receivedExactlyOnce: problems.length === 0, deliveryRows: statuses, receiverRequests: final.stats.requests, problems });

    const line = summary({ N, RATE, W, results, ceilings, memories });
    emit(line);
    warn(line.text);
    if (problems.length) throw new Error(`verification failed:\n  ${problems.join('\n  ')}`);
  } catch (error) {
    process.exitCode = interrupted ? 130 : 1;
    if (!interrupted) warn(`bench failed: ${error.stack ?? error}${error.cause ? `\ncause: ${error.cause.stack ?? error.cause}` : ''}`);
  } finally {
    await cleanup();
  }
  process.exit(process.exitCode ?? 0);
}

// -------------------------------------------------------------------- helpers

/** The environment every config of this bench shares (the app adds its own settings). */
function minimalEnv(databaseUrl, redisUrl, redisPrefix, apiKey) {
  return { NODE_ENV: 'development', DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, REDIS_PREFIX: redisPrefix, API_KEY: apiKey, PORT: '0', HOST: '127.0.0.1' };
}

/**
 * CPU used by each part between two snapshots: this process, the receiver child, the
 * PostgreSQL backends of the bench database (a backend that closed in between is missed;
 * pools keep theirs), Redis (the whole server) and the machine.
 */
class CpuMeter {
  constructor(db, redis, rx, dbName) {
    this.db = db;
    this.redis = redis;
    this.rx = rx;
    this.dbName = dbName;
  }

  async snapshot() {
    const { rows } = await this.db.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [this.dbName]);
    const pg = new Map();
    for (const { pid } of rows) {
      const ticks = procTicks(pid);
      if (ticks !== null) pg.set(pid, ticks);
    }
    const info = await this.redis.info('cpu').catch(() => '');
    const field = (name) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1] ?? NaN);
    const { user, system } = process.cpuUsage();
    return {
      at: now(),
      mainMs: (user + system) / 1000,
      receiverMs: (await this.rx.ask('cpu')).cpuMs,
      pg,
      redisMs: (field('used_cpu_user') + field('used_cpu_sys')) * 1000,
      machine: machineTicks(),
    };
  }

  delta(a, b, deliveries) {
    const wallMs = b.at - a.at;
    let pgTicks = 0;
    for (const [pid, ticks] of b.pg) pgTicks += ticks - (a.pg.get(pid) ?? 0);
    const parts = {
      thisProcessMs: b.mainMs - a.mainMs,
      receiverMs: b.receiverMs - a.receiverMs,
      postgresBackendsMs: pgTicks * 10,
      redisServerMs: b.redisMs - a.redisMs,
    };
    const busy = b.machine.busy - a.machine.busy;
    const total = b.machine.total - a.machine.total;
    const out = { wallMs: round(wallMs), machineCoresBusy: total ? round((busy / total) * cpuCount(), 2) : null, coresBusy: {}, msPerDelivery: {} };
    for (const [part, ms] of Object.entries(parts)) {
      out.coresBusy[part] = round(ms / wallMs, 2);
      out.msPerDelivery[part] = round(ms / deliveries, 3);
    }
    return out;
  }
}

/**
 * CPU per event of the whole pipeline, by part, beside the same parts done raw (the sum of the
 * ceilings' CPU per item: POST, PostgreSQL append, PostgreSQL bookkeeping, BullMQ), and the rate
 * the machine's cores could sustain at that cost if nothing else ran (an estimate: CPU only).
 */
function cpuBudget(zaphub, ceilings) {
  const raw = {
    thisProcessMs: ceilings.postCpu.thisProcessMs + ceilings.appendCpu.thisProcessMs + ceilings.bookkeepingCpu.thisProcessMs + ceilings.bullmqCpu.thisProcessMs,
    receiverMs: ceilings.postCpu.receiverMs,
    postgresBackendsMs: ceilings.appendCpu.postgresBackendsMs + ceilings.bookkeepingCpu.postgresBackendsMs,
    redisServerMs: ceilings.bullmqCpu.redisServerMs,
  };
  const total = (parts) => Object.values(parts).reduce((a, b) => a + b, 0);
  const sized = (parts) => Object.fromEntries([...Object.entries(parts).map(([k, v]) => [k, round(v, 2)]), ['totalMs', round(total(parts), 2)]]);
  return {
    zaphubMs: sized(zaphub),
    rawPipelineMs: sized(raw),
    ratioToRaw: Object.fromEntries(Object.keys(raw).map((k) => [k, ratio(zaphub[k], raw[k])]).concat([['totalMs', ratio(total(zaphub), total(raw))]])),
    cpuBoundPerSecond: { zaphub: Math.round((cpuCount() * 1000) / total(zaphub)), rawPipeline: Math.round((cpuCount() * 1000) / total(raw)) },
  };
}

/**
 * Counts the SQL statements this process sends through pg (Client.prototype.query: the app's
 * Prisma adapter and the raw ceilings' pools; the bench's own client `exclude` is left out),
 * in all and by statement text.
 */
function countStatements(pg, exclude) {
  let total = 0;
  const byText = new Map();
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function countedQuery(config, ...rest) {
    if (this !== exclude) {
      total++;
      const text = typeof config === 'string' ? config : config?.text;
      if (typeof text === 'string') {
        const flat = text.replace(/\s+/g, ' ').replace(/"public"\./g, '').trim();
        const key = flat.length > 110 ? `${flat.slice(0, 70)} … ${flat.slice(-35)}` : flat;
        byText.set(key, (byText.get(key) ?? 0) + 1);
      }
    }
    return original.call(this, config, ...rest);
  };
  return {
    snapshot: () => ({ total, byText: new Map(byText) }),
    /** Statements since `snap`, per item, and the most frequent texts per item. */
    since(snap, items) {
      const top = [...byText]
        .map(([text, n]) => [text, n - (snap.byText.get(text) ?? 0)])
        .filter(([, n]) => n > 0)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 12)
        .map(([text, n]) => ({ perItem: round(n / items, 2), text }));
      return { perItem: round((total - snap.total) / items, 2), top };
    },
  };
}

/** This process's event-loop delay from now until stop() (p50/p99/max ms). */
function loopDelay() {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  return {
    stop() {
      histogram.disable();
      const ms = (ns) => round(ns / 1e6);
      return { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) };
    },
  };
}

function procTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
  } catch {
    return null;
  }
}

function machineTicks() {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const ticks = values.map(Number);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = ticks[3] + ticks[4];
  return { busy: total - idle, total };
}

function cpuCount() {
  return readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((l) => /^cpu\d+ /.test(l)).length;
}

/** One POST through `agent`; resolves when the answer's body ended. */
function post(agent, url, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve({ status: res.statusCode, doneAt: now() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Starts `fire(i, due)` at `rate` per second, `total` times, without waiting for the previous
 * ones (open loop: a slow answer does not slow the arrivals down); resolves when all settled.
 */
async function openLoop(rate, total, fire) {
  const start = now();
  const running = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - now();
    if (wait > 1) await sleep(wait);
    running.push(fire(i, due));
  }
  await Promise.all(running);
}

/**
 * One HTTP request with a JSON body and answer, on a connection of its own: the
 * client shares its event loop with the app under test.
 */
const range = (n) => Array.from({ length: n }, (_, i) => i);
const mb = (bytes) => +(bytes / 2 ** 20).toFixed(1);
const round = (n, digits = 1) => (Number.isFinite(n) ? +n.toFixed(digits) : null);
const ratio = (a, b) => (a === null || b === null || !(b > 0) ? null : +(a / b).toFixed(2));

/** p50/p90/p99/max of a list of milliseconds (nearest rank); NaN entries are left out and counted. */
function percentiles(values) {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (!sorted.length) return { n: 0 };
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  const out = { p50: round(at(50)), p90: round(at(90)), p99: round(at(99)), max: round(sorted[sorted.length - 1]) };
  if (sorted.length !== values.length) out.missing = values.length - sorted.length;
  return out;
}

/** Lets pending work finish, then collects twice so what remains is live. */
async function memory(idleMs) {
  await sleep(idleMs);
  global.gc();
  await new Promise((resolve) => setImmediate(resolve));
  global.gc();
  const m = process.memoryUsage();
  return { rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), heapTotalMB: mb(m.heapTotal), externalMB: mb(m.external + m.arrayBuffers) };
}

const DELIVERIES_TARGET = 1000;
const P99_TARGET_MS = 200;

function summary({ N, RATE, W, results, ceilings, memories }) {
  const verdict = (ok) => (ok ? 'within target' : 'OFF target');
  const t = results.throughput;
  const d = results.drain;
  const l = results.latency;
  // The issue's figure is the delivery side (a backlog drained): with appends at full speed in the
  // same run, the machine's two cores are shared with PostgreSQL's append work, whose raw ceiling
  // alone is about 1,000 transactions/s; that figure is reported beside its CPU bound.
  const throughputOk = d.deliveriesPerSecond >= DELIVERIES_TARGET;
  const latencyOk = l.p99 < P99_TARGET_MS && l.failedAppends === 0;
  const memDelta = (m) => `${(m.rssMB - memories.baseline.rssMB).toFixed(1)} MB RSS / ${(m.heapUsedMB - memories.baseline.heapUsedMB).toFixed(1)} MB heap`;
  const text =
    `summary: delivery side ${Math.round(d.deliveriesPerSecond)} deliveries/s (N=${N}, a backlog drained) vs raw keep-alive POST ` +
    `${Math.round(ceilings.postPerSecond)}/s at concurrency ${W} (x${ratio(d.deliveriesPerSecond, ceilings.postPerSecond)}), ` +
    `x${ratio(d.deliveriesPerSecond, ceilings.bookkeepingPerSecond)} of raw PostgreSQL per-row bookkeeping ${Math.round(ceilings.bookkeepingPerSecond)}/s, raw BullMQ ${Math.round(ceilings.bullmqPerSecond)} jobs/s; ` +
    `target >= ${DELIVERIES_TARGET}/s: ${verdict(throughputOk)}; ` +
    `appends and deliveries together ${Math.round(t.deliveriesPerSecond)} deliveries/s; CPU per event ${t.budget.zaphubMs.totalMs} ms (app process ${t.budget.zaphubMs.thisProcessMs} ms) vs ${t.budget.rawPipelineMs.totalMs} ms raw ` +
    `(${t.budget.rawPipelineMs.thisProcessMs} ms in the sending process; x${t.budget.ratioToRaw.totalMs}, app process x${t.budget.ratioToRaw.thisProcessMs}): ` +
    `the cores could carry ~${t.budget.cpuBoundPerSecond.zaphub}/s for ZapHub, ~${t.budget.cpuBoundPerSecond.rawPipeline}/s raw; ` +
    `appends ${Math.round(t.appendsPerSecond)}/s vs raw PostgreSQL ${Math.round(ceilings.appendPerSecond)}/s (x${ratio(t.appendsPerSecond, ceilings.appendPerSecond)}); ` +
    `commit to receipt at ${RATE}/s p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms vs raw POST round trip p50 ${ceilings.roundTrip.p50} ms, p99 ${ceilings.roundTrip.p99} ms ` +
    `(p99 x${ratio(l.p99, ceilings.roundTrip.p99)})${l.failedAppends ? `, ${l.failedAppends} appends FAILED (the app did not keep up with ${RATE}/s)` : ''}, target p99 < ${P99_TARGET_MS} ms: ${verdict(latencyOk)}; ` +
    `memory over boot: ${memDelta(memories.throughput)} after throughput, ${memDelta(memories.latency)} at the end`;
  return {
    kind: 'summary',
    deliveriesPerSecond: Math.round(d.deliveriesPerSecond),
    rawPostPerSecond: Math.round(ceilings.postPerSecond),
    ratioToRawPost: ratio(d.deliveriesPerSecond, ceilings.postPerSecond),
    withAppendsDeliveriesPerSecond: Math.round(t.deliveriesPerSecond),
    withAppendsCpuBoundPerSecond: t.budget.cpuBoundPerSecond,
    deliveriesTarget: DELIVERIES_TARGET,
    deliveriesWithinTarget: throughputOk,
    appendsPerSecond: Math.round(t.appendsPerSecond),
    rawPgAppendPerSecond: Math.round(ceilings.appendPerSecond),
    appendRatioToRawPg: ratio(t.appendsPerSecond, ceilings.appendPerSecond),
    cpuPerEvent: t.budget,
    latencyMs: l,
    rawRoundTripMs: ceilings.roundTrip,
    p99RatioToRawRoundTrip: ratio(l.p99, ceilings.roundTrip.p99),
    p99TargetMs: P99_TARGET_MS,
    latencyWithinTarget: latencyOk,
    memory: memories,
    text,
  };
}

function emit(measurement) {
  process.stdout.write(`${JSON.stringify({ bench: 'webhooks', ...measurement })}\n`);
}

function warn(message) {
  process.stderr.write(`[bench:webhooks] ${message}\n`);
}

if (process.argv.includes('--receiver-child')) await receiverChild();
else await main();
