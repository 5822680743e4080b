// Benchmark (not a test): inbound messages, from fake contacts of the sandbox (real Baileys
// sockets, real Signal encryption) to ZapHub's sessions, recorded with their events.
//
//   npm run bench:inbound                                   # 10 sessions, 20 contacts, 6,000 messages
//   npm run bench:inbound -- --messages 2000 --sessions 4 --contacts 10
//
// Absolute numbers on this shared 2-core machine are noise: every ZapHub figure is printed beside
// ceilings measured in the same run, as ratios:
//
//   - offered load: the rate at which the contacts got their messages out (first send to last
//     send handed to the socket), measured in the sandbox child. ZapHub cannot record
//     faster than WhatsApp delivers: recorded/offered near 1 means recording keeps up.
//   - raw PostgreSQL: the same rows (Message + Event, one multi-row INSERT each per transaction,
//     in batches of the size ZapHub's own batches had on average, two connections at once like the
//     recorder's two batches in flight), straight through pg: what the database alone allows.
//
// The app (compiled, from dist/, in this process; SANDBOX=true against the sandbox child through
// SANDBOX_URL, as bench:messages does; LOG_LEVEL=warn): S sessions paired by the sandbox's fake
// phone; C contacts; each contact first sends one warm-up message to each session (Signal
// sessions made), then the M timed messages: message i goes from contact i mod C to session
// (i div C) mod S, each contact sending its share in order as fast as Baileys lets it, all
// contacts at once. Recorded = the Message row and its message.received event committed; the
// time of a message is its row's createdAt (set in the recording transaction, a few ms before the
// commit), compared with the contact's send time (same machine clock). Figures: messages/s from
// the first send to the last row, p50/p90/p99 contact send -> recorded, ZapHub transactions (the
// recorder's multi-row inserts) and their mean size, every message recorded once and with one
// event (checked, exit 1 otherwise).
//
// Then the recorder alone (the recording path without WhatsApp in front of it, which on a shared
// 2-core machine is the part ZapHub controls): R sessions (--recorder-sessions, 50), each handing
// --recorder-messages (100) messages to the app's InboundRecorder one at a time and awaiting each
// commit, as a session's InboundRelay does, all sessions at once; beside it raw PostgreSQL with
// the recorder's mean batch size.
//
// Target to report (not enforced): >= 500 msg/s recorded with events.
//
// One JSON line per measurement on stdout ("bench":"inbound"); progress and the summary on stderr.
// Setup: a throwaway PostgreSQL database (migrated with scripts/prisma-migrate.mjs) and Redis key
// prefix, dropped at the end. Settings: --messages M (6000), --sessions S (10), --contacts C (20);
// env BENCH_DATABASE_URL (admin connection, default TEST_DATABASE_URL or
// postgresql://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL (default TEST_REDIS_URL or
// redis://127.0.0.1:6379), BENCH_LOG_LEVEL (warn), BENCH_ONLY=recorder (only the recorder alone and
// its raw PostgreSQL ceiling: for tuning the recording path).
import { execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchTargets, deleteRedisKeys, onAdmin } from './lib/bench-store.mjs';
import { pool, requestJson, retry } from './lib/bench-util.mjs';
import { ipcClient, percentiles, ratio, round, serveIpc, sleep } from './lib/bench-measure.mjs';

const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '..');
const dist = (file) => path.join(ROOT, 'dist', file);
const TARGET_PER_SECOND = 500;

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const contactPhone = (c) => `1555${String(7000000 + c)}`;
const appPhone = (s) => `1555${String(8000000 + s)}`;
const emit = (o) => process.stdout.write(`${JSON.stringify({ bench: 'inbound', ...o })}\n`);
const warn = (line) => process.stderr.write(`${line}\n`);

if (process.argv.includes('--sandbox-child')) await sandboxChild();
else await main();

// ---------------------------------------------------------------- sandbox child

/** The fake network and its contacts; sends on request and times each send. */
async function sandboxChild() {
  const init = await new Promise((resolve) => process.once('message', resolve));
  const { SandboxNetwork } = require(dist('modules/sandbox/network/sandbox-network.js'));
  const network = new SandboxNetwork({ fastPreKeys: true, controlApi: true, maxLiveContacts: init.contacts + 10, maxKnownContacts: init.contacts + 10 });
  await network.start();
  serveIpc({
    /** Each contact sends its messages of the plan in order; all contacts at once. */
    async send({ prefix, S, C, total }) {
      const sentAt = new Array(total).fill(0);
      const byContact = Array.from({ length: C }, () => []);
      for (let i = 0; i < total; i++) byContact[i % C].push(i);
      const started = Date.now();
      await Promise.all(
        byContact.map(async (indexes, c) => {
          for (const i of indexes) {
            const s = Math.floor(i / C) % S;
            sentAt[i] = Date.now();
            await network.inbound(`bench-${s}`, contactPhone(c), `${prefix} ${i}`);
            // Let acks and the event loop breathe between sends (a tight loop starves them).
            await new Promise((resolve) => setImmediate(resolve));
          }
        }),
      );
      return { sentAt, started, ended: Date.now() };
    },
    async close() {
      await network.close();
      setImmediate(() => process.exit(0));
      return {};
    },
  });
  process.send({ kind: 'ready', wsUrl: network.wsUrl, rootKey: Buffer.from(network.rootPublicKey).toString('base64'), controlUrl: `${network.httpUrl}/control` });
  process.on('disconnect', () => void network.close().finally(() => process.exit(0)));
}

// ---------------------------------------------------------------- main

async function main() {
  const M = arg('messages', 6000);
  const S = arg('sessions', 10);
  const C = arg('contacts', 20);
  const R = arg('recorder-sessions', 50);
  const PER_SESSION = arg('recorder-messages', 100);
  require('reflect-metadata');
  const pg = require('pg');
  const { createApp } = require(dist('bootstrap/create-app.js'));
  const { parseConfig } = require(dist('config/index.js'));
  const { InboundRepository } = require(dist('modules/messaging/inbound/inbound.repository.js'));

  const { adminUrl, redisUrl, dbName, databaseUrl, redisPrefix, apiKey } = benchTargets();

  let app = null;
  let db = null;
  let sandbox = null;
  const cleanup = async () => {
    if (app) await app.close().catch((e) => warn(`closing the app: ${e.message}`));
    app = null;
    if (sandbox && sandbox.exitCode === null) sandbox.kill();
    if (db) await db.end().catch(() => undefined);
    db = null;
    await retry(() => onAdmin(adminUrl, `DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`)).catch((e) => warn(`dropping ${dbName}: ${e.message}`));
    await deleteRedisKeys(redisUrl, redisPrefix).catch((e) => warn(`deleting Redis keys ${redisPrefix}:*: ${e.message}`));
  };
  process.once('SIGINT', () => {
    warn('interrupted: cleaning up');
    void cleanup().finally(() => process.exit(130));
  });

  const problems = [];
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'prisma-migrate.mjs'), 'deploy'], { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: 'pipe' });
    db = new pg.Pool({ connectionString: databaseUrl, max: 2 });

    sandbox = fork(SELF, ['--sandbox-child'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const ready = new Promise((resolve, reject) => {
      sandbox.once('message', resolve);
      sandbox.once('exit', (code) => reject(new Error(`the sandbox child exited (${code}) before it was ready`)));
    });
    sandbox.send({ contacts: C });
    const info = await ready;
    const ask = ipcClient(sandbox);

    const config = parseConfig({
      NODE_ENV: 'development',
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: redisPrefix,
      API_KEY: apiKey,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      PORT: '0',
      HOST: '127.0.0.1',
      SANDBOX: 'true',
      SANDBOX_URL: info.wsUrl,
      SANDBOX_ROOT_KEY: info.rootKey,
      MAX_SESSIONS: '100000',
      AUTH_STATE_KEY: randomBytes(32).toString('hex'),
    });
    app = await createApp(config);
    await app.listen(0, '127.0.0.1');
    const baseUrl = `http://127.0.0.1:${app.getHttpServer().address().port}`;
    const api = (method, route, body) => requestJson(`${baseUrl}${route}`, method, body, { 'x-api-key': apiKey });

    // The recorder's transactions: one multi-row insert each.
    const repository = app.get(InboundRepository);
    const batches = [];
    const insertMany = repository.insertMany.bind(repository);
    repository.insertMany = (tx, rows) => {
      batches.push(rows.length);
      return insertMany(tx, rows);
    };

    const onlyRecorder = process.env.BENCH_ONLY === 'recorder';
    let zaphub = null;
    let raw = null;
    let latency = {};
    if (!onlyRecorder) {
      // ---------------------------------------------------------------- pairing and warm-up
      const names = Array.from({ length: S }, (_, s) => `bench-${s}`);
      await pool(names, 5, async (name) => {
        const s = Number(name.split('-')[1]);
        const created = await api('POST', '/api/sessions', { name });
        if (created.status !== 201) throw new Error(`create ${name}: ${created.status} ${JSON.stringify(created.body)}`);
        for (let attempt = 1; ; attempt++) {
          const { qr } = await sessionRow(db, name, (row) => row.status === 'SCAN_QR' && row.qr, 60_000);
          const scan = await requestJson(`${info.controlUrl}/scan`, 'POST', { session: name, qr, phone: appPhone(s) });
          if (scan.status === 200) break;
          if (scan.status !== 409 || attempt >= 5) throw new Error(`scan ${name}: ${scan.status} ${JSON.stringify(scan.body)}`);
          await sleep(200);
        }
        await sessionRow(db, name, (row) => row.status === 'WORKING', 60_000);
      });
      warn(`${S} sessions paired`);
      await ask('send', { prefix: 'warm', S, C, total: S * C });
      await waitRecorded(db, 'warm', S * C, 60_000);
      warn(`warm-up: ${S * C} messages recorded (one per contact and session)`);

      // ---------------------------------------------------------------- measured run
      batches.length = 0;
      const sent = await ask('send', { prefix: 'run', S, C, total: M });
      const offeredPerSecond = (M / Math.max(1, sent.ended - sent.started)) * 1000;
      await waitRecorded(db, 'run', M, 120_000);
      const { rows } = await db.query(
        `SELECT m.text, (extract(epoch FROM m."createdAt") * 1000)::float8 AS at,
                (SELECT count(*) FROM "Event" e WHERE e."sessionId" = m."sessionId" AND e.type = 'message.received' AND e.data->>'id' = m.id::text)::int AS events
           FROM "Message" m WHERE m.direction = 'INBOUND' AND m.text LIKE 'run %'`,
      );
      const recordedAt = new Array(M).fill(null);
      let duplicates = 0;
      let withoutEvent = 0;
      for (const row of rows) {
        const i = Number(row.text.split(' ')[1]);
        if (recordedAt[i] !== null) duplicates++;
        recordedAt[i] = row.at;
        if (row.events !== 1) withoutEvent++;
      }
      const missing = recordedAt.filter((v) => v === null).length;
      if (missing) problems.push(`${missing} messages never recorded`);
      if (duplicates) problems.push(`${duplicates} messages recorded twice`);
      if (withoutEvent) problems.push(`${withoutEvent} messages without exactly one message.received`);
      const lastAt = Math.max(...recordedAt.filter((v) => v !== null));
      const recordedPerSecond = (M / Math.max(1, lastAt - sent.started)) * 1000;
      latency = percentiles(recordedAt.map((at, i) => (at === null ? null : at - sent.sentAt[i])).filter((v) => v !== null));
      const meanBatch = batches.length ? batches.reduce((a, b) => a + b, 0) / batches.length : 0;
      zaphub = { messages: M, sessions: S, contacts: C, recordedPerSecond: Math.round(recordedPerSecond), offeredPerSecond: Math.round(offeredPerSecond), latencyMs: latency, transactions: batches.length, meanBatch: round(meanBatch, 2), maxBatch: Math.max(0, ...batches) };
      emit({ kind: 'zaphub', ...zaphub });

      // ---------------------------------------------------------------- raw PostgreSQL ceiling
      raw = await rawCeiling(db, api, 'raw-ceiling', M, Math.max(1, Math.round(meanBatch)));
      emit({ kind: 'raw-postgres', ...raw });
    }

    // ---------------------------------------------------------------- the recorder alone
    // The recording path without WhatsApp in front of it: R sessions (not running), each handing
    // its messages to the app's InboundRecorder one at a time and awaiting each commit, exactly as
    // a session's InboundRelay does; all sessions at once. Beside it, raw PostgreSQL with the same
    // batch size.
    const { InboundRecorder } = require(dist('modules/messaging/inbound/inbound-recorder.js'));
    const recorder = app.get(InboundRecorder);
    const refs = [];
    for (let r = 0; r < R; r++) {
      const created = await api('POST', '/api/sessions', { name: `rec-${r}`, start: false });
      if (created.status !== 201) throw new Error(`create rec-${r}: ${created.status}`);
      refs.push({ id: created.body.id ?? (await db.query(`SELECT id FROM "Session" WHERE name = $1`, [`rec-${r}`])).rows[0].id, name: `rec-${r}` });
    }
    const handOver = [];
    batches.length = 0;
    const recStarted = Date.now();
    await Promise.all(
      refs.map(async (ref, r) => {
        for (let k = 0; k < PER_SESSION; k++) {
          const phone = `1555${String(6000000 + (k % 50))}`;
          const t0 = performance.now();
          await recorder.received(ref, {
            waMessageId: `3EB0REC${String(r).padStart(4, '0')}${String(k).padStart(6, '0')}`,
            chatId: `${phone}@s.whatsapp.net`,
            chatIdAlt: null,
            fromMe: false,
            senderPhone: phone,
            senderJid: `${phone}@s.whatsapp.net`,
            pushName: null,
            type: 'text',
            text: `rec ${r} ${k}`,
            timestamp: new Date(),
            quotedWaMessageId: null,
            reactionTo: null,
            raw: null,
          });
          handOver.push(performance.now() - t0);
        }
      }),
    );
    const recMs = Date.now() - recStarted;
    const recTotal = R * PER_SESSION;
    const { rows: recRows } = await db.query(`SELECT count(*)::int AS n FROM "Event" WHERE type = 'message.received' AND "sessionName" LIKE 'rec-%'`);
    if (recRows[0].n !== recTotal) problems.push(`recorder alone: ${recRows[0].n} message.received events for ${recTotal} messages`);
    const recMeanBatch = batches.length ? batches.reduce((a, b) => a + b, 0) / batches.length : 0;
    const recorderAlone = {
      sessions: R,
      messages: recTotal,
      recordedPerSecond: Math.round((recTotal / Math.max(1, recMs)) * 1000),
      handOverToCommitMs: percentiles(handOver),
      transactions: batches.length,
      meanBatch: round(recMeanBatch, 2),
      maxBatch: Math.max(0, ...batches),
    };
    emit({ kind: 'recorder-alone', ...recorderAlone });
    const rawSame = await rawCeiling(db, api, 'raw-ceiling-2', recTotal, Math.max(1, Math.round(recMeanBatch)));
    emit({ kind: 'raw-postgres-recorder-batch', ...rawSame });

    const summary = {
      recordedPerSecond: zaphub?.recordedPerSecond ?? null,
      target: TARGET_PER_SECOND,
      targetMet: zaphub ? zaphub.recordedPerSecond >= TARGET_PER_SECOND : null,
      ofOffered: zaphub ? ratio(zaphub.recordedPerSecond, zaphub.offeredPerSecond) : null,
      ofRawPostgres: zaphub ? ratio(zaphub.recordedPerSecond, raw.rowsPerSecond) : null,
      p99Ms: latency.p99 ?? null,
      recorderAlonePerSecond: recorderAlone.recordedPerSecond,
      recorderAloneTargetMet: recorderAlone.recordedPerSecond >= TARGET_PER_SECOND,
      recorderAloneOfRawPostgres: ratio(recorderAlone.recordedPerSecond, rawSame.rowsPerSecond),
      recorderAloneP99Ms: recorderAlone.handOverToCommitMs.p99,
    };
    emit({ kind: 'summary', ...summary });
    warn('');
    if (zaphub) {
      warn(`inbound: ${M} messages from ${C} contacts to ${S} sessions`);
      warn(`  recorded with events   ${zaphub.recordedPerSecond} msg/s (target ${TARGET_PER_SECOND}: ${summary.targetMet ? 'met' : 'NOT met'})`);
      warn(`  offered by contacts    ${zaphub.offeredPerSecond} msg/s   -> recorded/offered ${summary.ofOffered}`);
      warn(`  raw PostgreSQL rows    ${raw.rowsPerSecond} msg/s (batches of ${raw.batch})   -> ZapHub/raw ${summary.ofRawPostgres}`);
      warn(`  contact send -> recorded  p50 ${latency.p50} ms  p90 ${latency.p90} ms  p99 ${latency.p99} ms  max ${latency.max} ms`);
      warn(`  ZapHub transactions    ${zaphub.transactions} for ${M} messages (mean ${zaphub.meanBatch}, max ${zaphub.maxBatch} per transaction)`);
    }
    warn(`recorder alone: ${recTotal} messages, ${R} sessions each handing over one at a time`);
    warn(`  recorded with events   ${recorderAlone.recordedPerSecond} msg/s (target ${TARGET_PER_SECOND}: ${summary.recorderAloneTargetMet ? 'met' : 'NOT met'})`);
    warn(`  raw PostgreSQL rows    ${rawSame.rowsPerSecond} msg/s (batches of ${rawSame.batch})   -> recorder/raw ${summary.recorderAloneOfRawPostgres}`);
    warn(`  hand-over -> commit    p50 ${recorderAlone.handOverToCommitMs.p50} ms  p90 ${recorderAlone.handOverToCommitMs.p90} ms  p99 ${recorderAlone.handOverToCommitMs.p99} ms`);
    warn(`  transactions           ${recorderAlone.transactions} (mean ${recorderAlone.meanBatch}, max ${recorderAlone.maxBatch} per transaction)`);
    if (problems.length) throw new Error(`verification failed:\n  ${problems.join('\n  ')}`);
  } catch (error) {
    warn(`bench failed: ${error.stack ?? error}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

/** Waits until `total` messages of `prefix` are recorded (rows), giving up after `stallMs` without progress. */
async function waitRecorded(db, prefix, total, stallMs) {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM "Message" WHERE direction = 'INBOUND' AND text LIKE $1`, [`${prefix} %`]);
    const n = rows[0].n;
    if (n >= total) return;
    if (n !== last) {
      last = n;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > stallMs) {
      throw new Error(`${prefix}: ${n} of ${total} recorded, no progress for ${stallMs / 1000} s`);
    }
    await sleep(200);
  }
}

async function sessionRow(db, name, predicate, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query('SELECT name, status, qr, "lastError" FROM "Session" WHERE name = $1', [name]);
    if (rows[0] && predicate(rows[0])) return rows[0];
    if (Date.now() > deadline) throw new Error(`session ${name} stuck at ${rows[0]?.status ?? 'missing'} (${rows[0]?.lastError ?? 'no error'})`);
    await sleep(100);
  }
}

/**
 * The same rows straight through pg: per transaction one multi-row INSERT of `batch` Message rows
 * (ON CONFLICT DO NOTHING, as ZapHub) and one of their Event rows (sequences taken from the
 * session's counter row in the same statement), two connections at once.
 */
async function rawCeiling(db, api, name, total, batch) {
  const created = await api('POST', '/api/sessions', { name, start: false });
  if (created.status !== 201) throw new Error(`create ${name}: ${created.status}`);
  const { rows } = await db.query(`SELECT id FROM "Session" WHERE name = $1`, [name]);
  const sessionId = rows[0].id;
  const starts = [];
  for (let i = 0; i < total; i += batch) starts.push(i);
  const started = Date.now();
  await pool(starts, 2, async (from) => {
    const n = Math.min(batch, total - from);
    const client = await db.connect();
    try {
      await client.query('BEGIN');
      const params = [sessionId];
      const values = [];
      for (let k = 0; k < n; k++) {
        const i = from + k;
        params.push(`${name} ${i}`, `3EB0RAW${String(i).padStart(10, '0')}`, JSON.stringify({ from: '15550000000', pushName: null, chatJid: '15550000000@s.whatsapp.net', timestamp: new Date().toISOString() }));
        const p = params.length;
        values.push(`(gen_random_uuid(), $1::uuid, '15550000000@s.whatsapp.net', 'INBOUND', 'text', 'RECEIVED', $${p - 2}, $${p}::jsonb, $${p - 1}, 0, now(), now())`);
      }
      const inserted = await client.query(
        `INSERT INTO "Message" ("id", "sessionId", "chatId", "direction", "type", "status", "text", "content", "waMessageId", "attempts", "createdAt", "updatedAt")
         VALUES ${values.join(', ')} ON CONFLICT ("sessionId", "waMessageId") DO NOTHING RETURNING id, text, "waMessageId"`,
        params,
      );
      await client.query(
        `WITH counter AS (
           INSERT INTO "EventCounter" ("sessionId", "lastSequence") VALUES ($1::uuid, $2)
           ON CONFLICT ("sessionId") DO UPDATE SET "lastSequence" = "EventCounter"."lastSequence" + $2 RETURNING "lastSequence"
         )
         INSERT INTO "Event" ("id", "sessionId", "sessionName", "sequence", "type", "data", "createdAt")
         SELECT 'evt_' || replace(gen_random_uuid()::text, '-', ''), $1::uuid, $4, counter."lastSequence" - $2 + d.n, 'message.received', d.data, now()
           FROM counter, jsonb_array_elements($3::jsonb) WITH ORDINALITY AS d(data, n)`,
        [sessionId, inserted.rows.length, JSON.stringify(inserted.rows.map((r) => ({ id: r.id, text: r.text, waMessageId: r.waMessageId, status: 'RECEIVED', from: '15550000000' }))), name],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  });
  const ms = Date.now() - started;
  return { rows: total, batch, ms, rowsPerSecond: Math.round((total / Math.max(1, ms)) * 1000) };
}
