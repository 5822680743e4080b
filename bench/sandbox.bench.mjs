// Benchmark (not a test): memory and open time of N idle Baileys sockets
// logged in to the sandbox network, in one process (network included).
//
//   npm run bench:sandbox            # 200 sockets
//   npm run bench:sandbox -- 500     # N sockets
//   npm run bench:sandbox -- 200 --full-prekeys   # each account uploads 812 pre-keys, like a real first login
//
// Prints one JSON object. Needs `npm run build` (the script does it) and --expose-gc.
import { createRequire } from 'node:module';
import { initAuthCreds, makeWASocket, WA_CERT_DETAILS } from '@whiskeysockets/baileys';
import pino from 'pino';

const require = createRequire(import.meta.url);
const { SandboxNetwork } = require('../dist/modules/sandbox/network/sandbox-network.js');
const { MemorySignalKeyStore } = require('../dist/modules/sandbox/network/memory-key-store.js');

const args = process.argv.slice(2);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 200);
const fullPreKeys = args.includes('--full-prekeys');
const BATCH = 10;

if (typeof global.gc !== 'function') {
  process.stderr.write('run with node --expose-gc (npm run bench:sandbox does)\n');
  process.exit(1);
}

const mb = (bytes) => +(bytes / 2 ** 20).toFixed(1);
async function memory() {
  // Let pending work settle, then collect twice so what remains is live.
  await new Promise((resolve) => setTimeout(resolve, 500));
  global.gc();
  global.gc();
  const m = process.memoryUsage();
  return { rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), externalMB: mb(m.external + m.arrayBuffers) };
}

function openSocket(network, i, logger) {
  const phone = `1999${String(i).padStart(7, '0')}`;
  const creds = { ...initAuthCreds(), me: { id: `${phone}:1@s.whatsapp.net`, name: `bench ${i}` } };
  const sock = makeWASocket({
    auth: { creds, keys: new MemorySignalKeyStore() },
    waWebSocketUrl: network.urlForSession(`bench-${i}`),
    logger,
    markOnlineOnConnect: false,
    syncFullHistory: false,
    shouldSyncHistoryMessage: () => false,
  });
  return new Promise((resolve, reject) => {
    sock.ev.on('connection.update', (update) => {
      if (update.connection === 'open') resolve(sock);
      if (update.connection === 'close') reject(update.lastDisconnect?.error ?? new Error('closed'));
    });
  });
}

const network = new SandboxNetwork({ fastPreKeys: !fullPreKeys });
await network.start();
WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(network.rootPublicKey);
const logger = pino({ level: 'silent' });

const base = await memory();
const started = Date.now();
const sockets = [];
for (let i = 0; i < N; i += BATCH) {
  const batch = [];
  for (let j = i; j < Math.min(N, i + BATCH); j++) batch.push(openSocket(network, j, logger));
  sockets.push(...(await Promise.all(batch)));
}
const openMs = Date.now() - started;
// Idle a moment so post-login queries finish before measuring.
await new Promise((resolve) => setTimeout(resolve, 2000));
const after = await memory();
const stats = network.stats();

console.log(
  JSON.stringify(
    {
      sockets: N,
      preKeysPerAccount: fullPreKeys ? 812 : 5,
      openMs,
      openMsPerSocket: +(openMs / N).toFixed(1),
      base,
      after,
      perIdleSocket: {
        heapKB: Math.round(((after.heapUsedMB - base.heapUsedMB) * 1024) / N),
        rssKB: Math.round(((after.rssMB - base.rssMB) * 1024) / N),
        externalKB: Math.round(((after.externalMB - base.externalMB) * 1024) / N),
      },
      network: { connections: stats.connections, onlineSessions: stats.onlineSessions, accounts: stats.accounts },
      note: 'one process: N Baileys clients + the sandbox server side of N connections',
    },
    null,
    2,
  ),
);

await Promise.all(sockets.map((sock) => sock.end(undefined)));
await network.close();
process.exit(0);
