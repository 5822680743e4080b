// Benchmark (not a test): what an idle WORKING session costs ZapHub, and how
// long a restart takes to bring all of them back.
//
//   npm run bench:sessions                 # N = 100, then 500
//   npm run bench:sessions -- 20           # one N
//   npm run bench:sessions -- 50,200,1000  # cumulative steps
//
// For each N (cumulative: the sessions of the previous step stay):
//   1. create and pair sessions through the REST API until N are WORKING
//      (QR shown by ZapHub, scanned by the sandbox's fake phone);
//   2. after GC, RSS and heap of the ZapHub process per idle WORKING session
//      (delta to the app with no session, divided by N);
//   3. close the app and create it again: time until every session is WORKING
//      again from its stored auth state (no QR), then memory again (sampled at
//      least 31 s after the close: Baileys keeps a closed socket reachable for
//      up to 30 s through an uncleared pre-key upload timer).
// "perSession" is the delta to the app with no session divided by N (includes
// one-time costs: code loaded and optimized on first use); "marginalPerAddedSession"
// is the delta to the previous step divided by the sessions added, the better
// figure for capacity planning.
//
// The ceiling, measured first in the same run (absolute numbers on a shared
// machine are noise; the ratio is the figure): in a child process of the same
// kind (node --expose-gc, same memory sampling), N raw sockets pair through the
// same sandbox child (QR scanned by the fake phone, 515, login), idle, are all
// closed and reconnected at once from their stored creds, step by step exactly
// as above. A raw socket is plain Baileys (makeWASocket with the socket options
// ZapHub's engine passes, auth state in memory; Baileys' never-disabled
// AsyncLocalStorage worked around as ZapHub does, see baileysSockets);
// BENCH_RAW=baileys-unpatched leaves that bug in, BENCH_RAW=engine runs ZapHub's
// Baileys adapter alone (BaileysEngine over an in-memory AuthStateStore). ZapHub's memory lines then carry the raw figure of the same
// phase ("rawPerSocket"), "overRawMB" (ZapHub per session minus raw per socket,
// RSS) and "ratioToRaw"; the restore line carries "rawRestoreMs" and
// "ratioToRaw". The raw child exits before the app boots, so none of its memory
// is in ZapHub's figures. A summary per N closes the run (a "summary" JSON line,
// and the same as text on stderr) against the targets, which are reported, not
// enforced: <= 1.5 MB RSS per idle WORKING session over raw, N restored <= 45 s.
//
// One JSON line per measurement on stdout, each with "bench":"sessions"
// (application logs at LOG_LEVEL=warn are JSON too, without that key).
//
// Setup: a throwaway PostgreSQL database (migrated with scripts/prisma-migrate.mjs)
// and Redis key prefix, dropped at the end (also on Ctrl-C). The fake WhatsApp
// network runs in a child process (SandboxNetwork from dist/, fastPreKeys), so
// the memory measured here is ZapHub's alone and both processes get a core;
// ZapHub reaches it through SANDBOX_URL / SANDBOX_ROOT_KEY like any external sandbox.
//
// Settings (env): BENCH_DATABASE_URL (admin connection, default TEST_DATABASE_URL or
// postgresql://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL (default TEST_REDIS_URL
// or redis://127.0.0.1:6379), BENCH_CONCURRENCY (sessions pairing at once, default 20),
// BENCH_IDLE_MS (idle time before a memory sample, default 3000), BENCH_LOG_LEVEL (the
// app's LOG_LEVEL, default warn; raise it to diagnose a failure), BENCH_RAW (what the raw
// ceiling runs: baileys, the default; baileys-unpatched; engine).
import { execFileSync, fork } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import { benchTargets, deleteRedisKeys, onAdmin } from './lib/bench-store.mjs';
import { pool, requestJson, retry } from './lib/bench-util.mjs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '..');
const dist = (file) => path.join(ROOT, 'dist', file);

// ---------------------------------------------------------------- sandbox child

async function sandboxChild() {
  const { SandboxNetwork } = require(dist('modules/sandbox/network/sandbox-network.js'));
  const network = new SandboxNetwork({ fastPreKeys: true, controlApi: true });
  await network.start();
  process.send({
    wsUrl: network.wsUrl,
    rootKey: Buffer.from(network.rootPublicKey).toString('base64'),
    controlUrl: `${network.httpUrl}/control`,
  });
  process.on('message', (message) => {
    if (message === 'close') void network.close().then(() => process.exit(0));
  });
  // The parent is gone (crashed or killed): do not linger.
  process.on('disconnect', () => void network.close().finally(() => process.exit(0)));
}

// ------------------------------------------------------------ raw Baileys child

/**
 * The ceiling: raw sockets against the same sandbox, without the ZapHub runtime. Runs
 * the same steps as the app (pair up to N, idle, close all and reconnect them
 * from their stored creds) and reports each figure to the parent over IPC.
 */
async function rawChild() {
  const job = await new Promise((resolve) => process.once('message', resolve));
  const report = (message) => process.send(message);
  const control = (route, body) => requestJson(`${job.controlUrl}${route}`, 'POST', body);
  const urlFor = (name) => `${job.wsUrl}?session=${encodeURIComponent(name)}`;
  const rootKey = Buffer.from(job.rootKey, 'base64');
  const open =
    job.mode === 'engine'
      ? engineSockets(urlFor, rootKey)
      : await baileysSockets(urlFor, rootKey, { patchAsyncLocalStorage: job.mode !== 'baileys-unpatched' });
  const within = (promise, ms, what) =>
    Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`raw ${what}: not within ${ms} ms`)), ms).unref())]);
  /** Opens the account's socket, again after a close that came before the open (at most 5 tries); resolves with the reconnects. */
  const openUntilUp = async (account) => {
    for (let attempt = 1; ; attempt++) {
      account.socket = open(account);
      const outcome = await Promise.race([account.socket.opened.then(() => 'open'), account.socket.closed.then(() => 'closed')]);
      if (outcome === 'open') return attempt - 1;
      if (attempt >= 5) throw new Error(`raw ${account.name} restore: closed ${attempt} times before opening`);
    }
  };
  const closeAll = (accounts) =>
    Promise.all(
      accounts.map(async (account) => {
        const socket = account.socket;
        account.socket = null;
        await socket.close();
        await within(socket.closed, 10_000, `${account.name} close`);
      }),
    );

  const accounts = [];
  const base = await memory(job.idleMs);
  report({ kind: 'raw-baseline', sockets: 0, ...base, mode: job.mode, note: 'raw child, no socket' });
  let previous = { sockets: 0, sample: base };
  for (const target of job.steps) {
    // 1. pair up to `target` raw sockets: QR, fake phone scan, 515, login with the new creds
    const pairStarted = Date.now();
    const indexes = Array.from({ length: target - accounts.length }, (_, k) => accounts.length + k);
    await pool(indexes, job.concurrency, async (i) => {
      const account = { name: `raw-${i}`, socket: null };
      accounts[i] = account;
      const pairing = open(account);
      const qr = await within(pairing.qr, 60_000, `${account.name} QR`);
      const scan = await control('/scan', { session: account.name, qr, phone: `1888${String(i).padStart(7, '0')}` });
      if (scan.status !== 200) throw new Error(`raw scan ${account.name}: ${scan.status} ${JSON.stringify(scan.body)}`);
      await within(pairing.closed, 60_000, `${account.name} restart after pairing`);
      account.socket = open(account);
      await within(account.socket.opened, 60_000, `${account.name} login`);
    });
    report({ kind: 'raw-pair', sockets: target, added: indexes.length, concurrency: job.concurrency, ms: Date.now() - pairStarted });

    // 2. memory per idle raw socket
    const idle = await memory(job.idleMs);
    report({
      kind: 'raw-memory',
      sockets: target,
      phase: 'after-pairing',
      ...idle,
      perSocket: perSession(base, idle, target),
      marginalPerAddedSocket: perSession(previous.sample, idle, target - previous.sockets),
    });

    // 3. close every socket, reconnect all of them at once from their stored creds
    await closeAll(accounts);
    const closedAt = Date.now();
    const restoreStarted = Date.now();
    // Like any client (and like ZapHub), a socket whose connection drops before it opened (500 logging in
    // at once on 2 cores can time out) reconnects; without that one lost login stalled the ceiling for good.
    const reconnectsPerSocket = await Promise.all(accounts.map((account) => within(openUntilUp(account), 10 * 60_000, `${account.name} restore`)));
    const restoreMs = Date.now() - restoreStarted;
    // Same rule as the app: the closed sockets stay reachable through Baileys' pre-key upload timer.
    const restored = await memory(Math.max(job.idleMs, PREKEY_UPLOAD_TIMER_MS + 1000 - (Date.now() - closedAt)));
    report({ kind: 'raw-restore', sockets: target, restoreMs, msPerSocket: round(restoreMs / target), reconnects: reconnectsPerSocket.reduce((a, b) => a + b, 0) });
    report({
      kind: 'raw-memory',
      sockets: target,
      phase: 'after-restore',
      ...restored,
      perSocket: perSession(base, restored, target),
      marginalPerAddedSocket: perSession(previous.sample, restored, target - previous.sockets),
    });
    previous = { sockets: target, sample: restored };
  }
  await closeAll(accounts);
  report({ kind: 'raw-done' });
}

/**
 * BENCH_RAW=engine: ZapHub's Baileys adapter alone (BaileysEngine.connect, the very socket a
 * session gets: same options, bounded caches, AsyncLocalStorage handling, creds writer) over an
 * in-memory AuthStateStore, with none of the runtime (no driver, Nest, Prisma, Redis). Not the
 * default: the adapter's per-socket caches are ZapHub's cost, and this ceiling would hide them.
 */
function engineSockets(urlFor, rootPublicKey) {
  const { BaileysEngine } = require(dist('modules/sessions/engine/baileys/baileys-engine.js'));
  const engine = new BaileysEngine({ logLevel: 'silent', sandbox: { urlForSession: urlFor, rootPublicKey } });
  const memoryStore = () => {
    let creds = null;
    const keys = new Map();
    return {
      loadCreds: async () => creds,
      saveCreds: async (serialized) => void (creds = serialized),
      getKeys: async (type, ids) => Object.fromEntries(ids.filter((id) => keys.has(`${type}:${id}`)).map((id) => [id, keys.get(`${type}:${id}`)])),
      setKeys: async (entries) => entries.forEach((e) => (e.value === null ? keys.delete(`${e.type}:${e.id}`) : keys.set(`${e.type}:${e.id}`, e.value))),
      clear: async () => void ((creds = null), keys.clear()),
    };
  };
  return (account) => {
    account.store ??= memoryStore();
    const settled = {};
    const on = (type) => new Promise((resolve) => (settled[type] = resolve));
    const socket = { qr: on('qr'), opened: on('open'), closed: on('close') };
    const connecting = engine.connect({
      sessionId: account.name,
      sessionName: account.name,
      auth: account.store,
      onEvent: (event) => settled[event.type]?.(event.type === 'qr' ? event.value : event.disconnect),
    });
    connecting.catch((error) => settled.close(error));
    socket.close = async () => (await connecting).close();
    return socket;
  };
}

/**
 * The default ceiling (BENCH_RAW=baileys): plain Baileys, makeWASocket with the socket options
 * ZapHub's engine passes (baileys-connection.ts), keys and creds in memory, Baileys' own default
 * caches. One thing is not left as Baileys has it: Baileys gives every socket an
 * AsyncLocalStorage it never disables, and each enabled one costs every promise of the process,
 * so hundreds of sockets (and every closed one before them) slow the whole process down
 * (restoring 500 plain sockets took 130 s here, 20-25 s with the workaround). That is a bug, not what a socket
 * costs: like ZapHub (async-local-storage-tracker.ts), the storage is enabled only while a key
 * transaction runs and disabled when the socket closes. BENCH_RAW=baileys-unpatched leaves it.
 * `open(account)` returns { qr, opened, closed, close() }; the account keeps its stored creds.
 */
async function baileysSockets(urlFor, rootPublicKey, { patchAsyncLocalStorage }) {
  const { BufferJSON, initAuthCreds, makeWASocket, WA_CERT_DETAILS } = await import('@whiskeysockets/baileys');
  const pino = require('pino');
  const { MemorySignalKeyStore } = require(dist('modules/sandbox/network/memory-key-store.js'));
  const { WA_WEB_VERSION, WA_BROWSER } = require(dist('modules/sessions/engine/baileys/baileys-version.js'));
  const tracker = require(dist('modules/sessions/engine/baileys/async-local-storage-tracker.js'));
  WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(rootPublicKey);
  const logger = pino({ level: 'silent' });
  return (account) => {
    account.keys ??= new MemorySignalKeyStore();
    account.stored ??= null;
    const creds = account.stored === null ? initAuthCreds() : JSON.parse(account.stored, BufferJSON.reviver);
    const save = () => (account.stored = JSON.stringify(creds, BufferJSON.replacer));
    if (account.stored === null) save();
    const create = () =>
      makeWASocket({
        auth: { creds, keys: account.keys },
        logger,
        version: WA_WEB_VERSION,
        browser: WA_BROWSER,
        waWebSocketUrl: urlFor(account.name),
        connectTimeoutMs: 20_000,
        markOnlineOnConnect: false,
        syncFullHistory: false,
        shouldSyncHistoryMessage: () => false,
      });
    const { value: sock, storages } = patchAsyncLocalStorage ? tracker.captureAsyncLocalStorages(create) : { value: create(), storages: [] };
    if (patchAsyncLocalStorage) tracker.enableOnlyDuringTransactions(sock.authState.keys, storages);
    // Baileys assigns the update to `creds` in its own listener, registered before this one.
    sock.ev.on('creds.update', save);
    const update = (pick) => new Promise((resolve) => sock.ev.on('connection.update', (u) => pick(u, resolve)));
    const closed = update((u, resolve) => u.connection === 'close' && resolve(u.lastDisconnect?.error));
    void closed.then(() => storages.forEach((storage) => storage.disable()));
    return {
      qr: update((u, resolve) => u.qr && resolve(u.qr)),
      opened: update((u, resolve) => u.connection === 'open' && resolve()),
      closed,
      close: () => sock.end(undefined),
    };
  };
}

const CEILINGS = {
  baileys: 'plain Baileys (makeWASocket, ZapHub socket options, AsyncLocalStorage bug worked around), no ZapHub',
  'baileys-unpatched': 'plain Baileys (makeWASocket, ZapHub socket options), no ZapHub',
  engine: "ZapHub's Baileys adapter alone (BaileysEngine, in-memory auth state), no runtime",
};

/** Runs the raw Baileys child to its end; resolves with its measurements by step. */
function runRawCeiling(info, steps, concurrency, idleMs, rawMode, onChild) {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, ['--raw-child'], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    onChild(child);
    const byStep = new Map();
    const step = (n) => byStep.get(n) ?? byStep.set(n, { memory: {} }).get(n);
    let done = false;
    child.on('message', (message) => {
      if (message.kind === 'raw-done') {
        done = true;
        return;
      }
      emit({ ...message, ceiling: CEILINGS[rawMode] });
      if (message.kind === 'raw-memory') step(message.sockets).memory[message.phase] = message;
      if (message.kind === 'raw-restore') step(message.sockets).restore = message;
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (done && code === 0) resolve(byStep);
      else reject(new Error(`the raw Baileys child failed (exit ${code ?? signal})`));
    });
    child.send({ wsUrl: info.wsUrl, rootKey: info.rootKey, controlUrl: info.controlUrl, steps, concurrency, idleMs, mode: rawMode });
  });
}

// ---------------------------------------------------------------------- main

async function main() {
  if (typeof global.gc !== 'function') {
    process.stderr.write('run with node --expose-gc (npm run bench:sessions does)\n');
    process.exit(1);
  }
  const arg = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? '100,500';
  const steps = [...new Set(arg.split(',').map((v) => Number(v.trim())))].sort((a, b) => a - b);
  if (!steps.length || steps.some((n) => !Number.isInteger(n) || n < 1)) {
    process.stderr.write(`usage: sessions.bench.mjs [N[,N...]] (got "${arg}")\n`);
    process.exit(1);
  }
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 20);
  const idleMs = Number(process.env.BENCH_IDLE_MS ?? 3000);
  const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
  const rawMode = process.env.BENCH_RAW ?? 'baileys';
  if (!['baileys', 'baileys-unpatched', 'engine'].includes(rawMode)) {
    process.stderr.write(`BENCH_RAW must be baileys, baileys-unpatched or engine (got "${rawMode}")\n`);
    process.exit(1);
  }

  require('reflect-metadata');
  const pg = require('pg');
  const { createApp } = require(dist('bootstrap/create-app.js'));
  const { parseConfig } = require(dist('config/index.js'));

  const { adminUrl, redisUrl, dbName, databaseUrl, redisPrefix, apiKey } = benchTargets();

  let app = null;
  let sandbox = null;
  let rawChildProcess = null;
  let db = null;
  // Memoized: an interrupt and the main flow's finally both wait for the same cleanup.
  let cleaning = null;
  const cleanup = () => (cleaning ??= cleanupOnce());
  const cleanupOnce = async () => {
    if (app) await app.close().catch((e) => warn(`closing the app: ${e.message}`));
    app = null;
    if (rawChildProcess && rawChildProcess.exitCode === null) rawChildProcess.kill();
    if (db) await db.end().catch(() => undefined);
    if (sandbox?.connected) sandbox.send('close');
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
    // A throwaway database, migrated like production (creates it when missing); again before
    // each boot, as `npm run start:prod` does (the tree may gain a migration during a long run).
    const migrate = () =>
      execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'prisma-migrate.mjs'), 'deploy'], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: databaseUrl },
        stdio: 'pipe',
      });
    migrate();
    db = new pg.Client({ connectionString: databaseUrl });
    // A dropped connection (e.g. PostgreSQL restarted) fails the next query; without a listener it would kill the process before cleanup.
    db.on('error', (error) => warn(`bench database connection: ${error.message}`));
    await db.connect();

    sandbox = fork(SELF, ['--sandbox-child'], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const info = await new Promise((resolve, reject) => {
      sandbox.once('message', resolve);
      sandbox.once('exit', (code) => reject(new Error(`sandbox child exited (${code})`)));
    });

    // The ceiling first, in a child that exits before the app boots.
    const raw = await runRawCeiling(info, steps, concurrency, idleMs, rawMode, (child) => (rawChildProcess = child));
    rawChildProcess = null;

    const config = parseConfig({
      NODE_ENV: 'development',
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: redisPrefix,
      API_KEY: apiKey,
      LOG_LEVEL: logLevel,
      PORT: '0',
      HOST: '127.0.0.1',
      SANDBOX: 'true',
      SANDBOX_URL: info.wsUrl,
      SANDBOX_ROOT_KEY: info.rootKey,
      MAX_SESSIONS: '100000',
    });
    const boot = async () => {
      const started = Date.now();
      const created = await createApp(config);
      await created.listen(0, '127.0.0.1');
      return { app: created, initMs: Date.now() - started };
    };

    ({ app } = await boot());
    let baseUrl = `http://127.0.0.1:${app.getHttpServer().address().port}`;
    const api = (method, route, body) => requestJson(`${baseUrl}${route}`, method, body, { 'x-api-key': apiKey });
    const control = (route, body) => requestJson(`${info.controlUrl}${route}`, 'POST', body);
    const watcher = new SessionWatcher(db);

    const base = await memory(idleMs);
    emit({ kind: 'baseline', sessions: 0, ...base, note: 'app booted, no session' });

    const summaries = [];
    let paired = 0;
    // The state just before each pairing step (sessions and memory), for the marginal cost per added session.
    let previous = { sessions: 0, sample: base };
    for (const target of steps) {
      // 1. pair up to `target` sessions, `concurrency` at a time
      const pairStarted = Date.now();
      const pairCpu = process.cpuUsage();
      const indexes = Array.from({ length: target - paired }, (_, k) => paired + k);
      await pool(indexes, concurrency, async (i) => {
        const name = `bench-${i}`;
        const created = await api('POST', '/api/sessions', { name });
        if (created.status !== 201) throw new Error(`create ${name}: ${created.status} ${JSON.stringify(created.body)}`);
        const { qr } = await watcher.until(name, (row) => row.status === 'SCAN_QR' && row.qr, 60_000);
        const scan = await control('/scan', { session: name, qr, phone: `1777${String(i).padStart(7, '0')}` });
        if (scan.status !== 200) throw new Error(`scan ${name}: ${scan.status} ${JSON.stringify(scan.body)}`);
        await watcher.until(name, (row) => row.status === 'WORKING', 60_000);
      });
      const pairMs = Date.now() - pairStarted;
      const pairCpuMs = cpuMs(pairCpu);
      emit({
        kind: 'pair',
        sessions: target,
        added: indexes.length,
        concurrency,
        ms: pairMs,
        msPerSession: round(pairMs / indexes.length),
        appCpuMsPerSession: round(pairCpuMs / indexes.length),
      });
      paired = target;

      // 2. memory per idle WORKING session
      await expectWorking(db, target);
      const idle = await memory(idleMs);
      const afterPairing = {
        perSession: perSession(base, idle, target),
        marginalPerAddedSession: perSession(previous.sample, idle, target - previous.sessions),
      };
      emit({ kind: 'memory', sessions: target, phase: 'after-pairing', ...idle, ...afterPairing, ...overRaw(afterPairing, raw.get(target)?.memory['after-pairing']) });

      // 3. close the app, create it again, time until every session is WORKING from its stored auth state
      const closeStarted = Date.now();
      await app.close();
      app = null;
      const closeMs = Date.now() - closeStarted;
      const closedAt = Date.now();
      const closed = await memory(idleMs);
      migrate();
      const restoreStarted = new Date();
      const restoreCpu = process.cpuUsage();
      const booted = await boot();
      app = booted.app;
      baseUrl = `http://127.0.0.1:${app.getHttpServer().address().port}`;
      const restoredBy = await until(async () => {
        const { rows } = await db.query(
          `SELECT count(*) FILTER (WHERE status = 'WORKING' AND (stats->>'connectedSince')::timestamptz >= $1) AS working,
                  count(*) FILTER (WHERE status = 'SCAN_QR') AS qr
             FROM "Session"`,
          [restoreStarted],
        );
        if (Number(rows[0].qr) > 0) throw new Error('a restored session asked for a QR');
        return Number(rows[0].working) === target ? Date.now() : null;
      }, 10 * 60_000);
      const startup = await api('GET', '/health/startup');
      // Baileys (rc14) races each pre-key upload against a 30 s timer it never clears, and that
      // timer keeps the closed socket (and through its callbacks ZapHub's LiveSession) reachable
      // until it fires: sample once the previous app's sockets can be collected.
      const restored = await memory(Math.max(idleMs, PREKEY_UPLOAD_TIMER_MS + 1000 - (Date.now() - closedAt)));
      const restoreMs = restoredBy - restoreStarted.getTime();
      const rawRestoreMs = raw.get(target)?.restore?.restoreMs ?? null;
      emit({
        kind: 'restore',
        sessions: target,
        closeMs,
        appInitMs: booted.initMs,
        restoreMs,
        // CPU this process (the app) used meanwhile; well below restoreMs means it mostly waited.
        appCpuMs: cpuMs(restoreCpu),
        msPerSession: round((restoredBy - restoreStarted.getTime()) / target),
        startupProbe: startup.status,
        // Still holds the closed sockets (see PREKEY_UPLOAD_TIMER_MS).
        rssMBAfterClose: closed.rssMB,
        heapUsedMBAfterClose: closed.heapUsedMB,
        // The ceiling: the same number of raw Baileys sockets reconnected at once from their stored creds.
        rawRestoreMs,
        ratioToRaw: ratio(restoreMs, rawRestoreMs),
      });
      const afterRestore = {
        perSession: perSession(base, restored, target),
        marginalPerAddedSession: perSession(previous.sample, restored, target - previous.sessions),
      };
      const restoredVsRaw = overRaw(afterRestore, raw.get(target)?.memory['after-restore']);
      emit({ kind: 'memory', sessions: target, phase: 'after-restore', ...restored, ...afterRestore, ...restoredVsRaw });
      previous = { sessions: target, sample: restored };
      summaries.push(summary(target, { afterPairing: { ...afterPairing, ...overRaw(afterPairing, raw.get(target)?.memory['after-pairing']) }, afterRestore: { ...afterRestore, ...restoredVsRaw }, restoreMs, rawRestoreMs }));
    }
    for (const line of summaries) {
      emit(line);
      warn(line.text);
    }
  } catch (error) {
    process.exitCode = interrupted ? 130 : 1;
    if (!interrupted) warn(`bench failed: ${error.stack ?? error}${error.cause ? `\ncause: ${error.cause.stack ?? error.cause}` : ''}`);
  } finally {
    await cleanup();
  }
  process.exit(process.exitCode ?? 0);
}

// -------------------------------------------------------------------- helpers

/** One query per tick for every session someone waits on (not one poll per session). */
class SessionWatcher {
  constructor(db, intervalMs = 50) {
    this.db = db;
    this.intervalMs = intervalMs;
    this.waiters = new Set();
    this.timer = null;
  }

  until(name, predicate, timeoutMs) {
    return new Promise((resolve, reject) => {
      const waiter = { name, predicate, resolve, reject, deadline: Date.now() + timeoutMs };
      this.waiters.add(waiter);
      this.timer ??= setTimeout(() => this.tick(), this.intervalMs);
    });
  }

  async tick() {
    const waiters = [...this.waiters];
    try {
      const { rows } = await this.db.query('SELECT name, status, qr, "lastError" FROM "Session" WHERE name = ANY($1)', [[...new Set(waiters.map((w) => w.name))]]);
      const byName = new Map(rows.map((r) => [r.name, r]));
      for (const waiter of waiters) {
        const row = byName.get(waiter.name);
        if (row && waiter.predicate(row)) {
          this.waiters.delete(waiter);
          waiter.resolve(row);
        } else if (Date.now() > waiter.deadline) {
          this.waiters.delete(waiter);
          waiter.reject(new Error(`session ${waiter.name} stuck at ${row?.status ?? 'missing'} (${row?.lastError ?? 'no error'})`));
        }
      }
    } catch (error) {
      for (const waiter of waiters) {
        this.waiters.delete(waiter);
        waiter.reject(error);
      }
    }
    this.timer = this.waiters.size ? setTimeout(() => this.tick(), this.intervalMs) : null;
  }
}

/**
 * One HTTP request with a JSON body and answer, on a connection of its own: the
 * client shares its event loop with the app under test, and under load a pooled
 * keep-alive connection can be reused just as the server closes it.
 */
async function until(check, timeoutMs, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

async function expectWorking(db, count) {
  const { rows } = await db.query(`SELECT count(*) AS n FROM "Session" WHERE status = 'WORKING'`);
  if (Number(rows[0].n) !== count) throw new Error(`expected ${count} WORKING sessions, found ${rows[0].n}`);
}

/** Baileys' UPLOAD_TIMEOUT (lib/Defaults): the pre-key upload timeout it never clears. */
const PREKEY_UPLOAD_TIMER_MS = 30_000;
/** User + system CPU milliseconds of this process since `since` (process.cpuUsage()). */
const cpuMs = (since) => {
  const { user, system } = process.cpuUsage(since);
  return Math.round((user + system) / 1000);
};
const mb = (bytes) => +(bytes / 2 ** 20).toFixed(1);
const round = (n) => +n.toFixed(1);

/** Lets post-login work finish, then collects twice so what remains is live. */
async function memory(idleMs) {
  await new Promise((resolve) => setTimeout(resolve, idleMs));
  global.gc();
  await new Promise((resolve) => setImmediate(resolve));
  global.gc();
  const m = process.memoryUsage();
  return { rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), heapTotalMB: mb(m.heapTotal), externalMB: mb(m.external + m.arrayBuffers) };
}

function perSession(base, now, n) {
  const kb = (a, b) => Math.round(((a - b) * 1024) / n);
  return { rssKB: kb(now.rssMB, base.rssMB), heapUsedKB: kb(now.heapUsedMB, base.heapUsedMB), externalKB: kb(now.externalMB, base.externalMB) };
}

const RSS_TARGET_OVER_RAW_MB = 1.5;
const RESTORE_TARGET_MS = 45_000;
const kbToMB = (kb) => +(kb / 1024).toFixed(2);
const ratio = (a, b) => (a === null || b === null || b <= 0 ? null : +(a / b).toFixed(2));

/** ZapHub's per-session memory beside the raw per-socket figure of the same phase. */
function overRaw(zaphub, raw) {
  if (!raw) return { rawPerSocket: null, overRawMB: null, ratioToRaw: null };
  const z = zaphub.perSession;
  const r = raw.perSocket;
  return {
    rawPerSocket: r,
    rawMarginalPerAddedSocket: raw.marginalPerAddedSocket,
    // RSS, the figure of the target; heap beside it.
    overRawMB: kbToMB(z.rssKB - r.rssKB),
    ratioToRaw: ratio(z.rssKB, r.rssKB),
    heapOverRawMB: kbToMB(z.heapUsedKB - r.heapUsedKB),
    heapRatioToRaw: ratio(z.heapUsedKB, r.heapUsedKB),
    marginalOverRawMB: kbToMB(zaphub.marginalPerAddedSession.rssKB - raw.marginalPerAddedSocket.rssKB),
  };
}

/** The line per N: memory after the restore (the steady state, sampled as long after a close as raw), restore time. */
function summary(n, { afterPairing, afterRestore, restoreMs, rawRestoreMs }) {
  const mem = afterRestore;
  const perSessionMB = kbToMB(mem.perSession.rssKB);
  const rawMB = mem.rawPerSocket ? kbToMB(mem.rawPerSocket.rssKB) : null;
  const verdict = (ok) => (ok === null ? 'n/a' : ok ? 'within target' : 'OVER target');
  const memOk = mem.overRawMB === null ? null : mem.overRawMB <= RSS_TARGET_OVER_RAW_MB;
  const restoreOk = restoreMs <= RESTORE_TARGET_MS;
  const restoreRatio = ratio(restoreMs, rawRestoreMs);
  const s = (ms) => (ms === null ? 'n/a' : (ms / 1000).toFixed(1));
  const text =
    `summary N=${n}: memory per idle WORKING session (after restore) ${perSessionMB} MB RSS, raw ${rawMB ?? 'n/a'} MB per socket, ` +
    `over raw ${mem.overRawMB ?? 'n/a'} MB (x${mem.ratioToRaw ?? 'n/a'}) vs target <= ${RSS_TARGET_OVER_RAW_MB} MB: ${verdict(memOk)} ` +
    `[after pairing: ${kbToMB(afterPairing.perSession.rssKB)} MB vs raw ${afterPairing.rawPerSocket ? kbToMB(afterPairing.rawPerSocket.rssKB) : 'n/a'} MB, over raw ${afterPairing.overRawMB ?? 'n/a'} MB]; ` +
    `restore ${s(restoreMs)} s, raw ${s(rawRestoreMs)} s (x${restoreRatio ?? 'n/a'}) vs target <= ${RESTORE_TARGET_MS / 1000} s: ${verdict(restoreOk)}`;
  return {
    kind: 'summary',
    sessions: n,
    perSessionRssMB: perSessionMB,
    rawPerSocketRssMB: rawMB,
    overRawMB: mem.overRawMB,
    ratioToRaw: mem.ratioToRaw,
    overRawTargetMB: RSS_TARGET_OVER_RAW_MB,
    memoryWithinTarget: memOk,
    afterPairing: { perSessionRssMB: kbToMB(afterPairing.perSession.rssKB), rawPerSocketRssMB: afterPairing.rawPerSocket ? kbToMB(afterPairing.rawPerSocket.rssKB) : null, overRawMB: afterPairing.overRawMB, ratioToRaw: afterPairing.ratioToRaw },
    restoreS: +(restoreMs / 1000).toFixed(1),
    rawRestoreS: rawRestoreMs === null ? null : +(rawRestoreMs / 1000).toFixed(1),
    restoreRatioToRaw: restoreRatio,
    restoreTargetS: RESTORE_TARGET_MS / 1000,
    restoreWithinTarget: restoreOk,
    text,
  };
}

function emit(measurement) {
  process.stdout.write(`${JSON.stringify({ bench: 'sessions', ...measurement })}\n`);
}

function warn(message) {
  process.stderr.write(`[bench:sessions] ${message}\n`);
}

// Last: the helpers above (classes are not hoisted) must exist before main runs.
if (process.argv.includes('--sandbox-child')) await sandboxChild();
else if (process.argv.includes('--raw-child')) {
  // The parent is gone: do not linger with open sockets.
  process.on('disconnect', () => process.exit(1));
  try {
    await rawChild();
    process.exit(0);
  } catch (error) {
    process.stderr.write(`[bench:sessions] raw Baileys child failed: ${error.stack ?? error}\n`);
    process.exit(1);
  }
} else await main();
