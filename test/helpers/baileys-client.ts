import {
  initAuthCreds,
  makeWASocket,
  WA_CERT_DETAILS,
  type AuthenticationCreds,
  type ConnectionState,
  type UserFacingSocketConfig,
  type WAMessage,
  type WAMessageUpdate,
  type WASocket,
} from '@whiskeysockets/baileys';
import pino from 'pino';
import { MemorySignalKeyStore } from '../../src/modules/sandbox/network/memory-key-store';
import { waitFor } from './test-env';

/**
 * A real Baileys client for tests against the sandbox network: in-memory auth
 * state (reusable across restarts, like a stored session), and everything it
 * receives collected for assertions. Baileys is used exactly as ZapHub's engine
 * uses it; nothing is mocked.
 */

/** What a client needs from a sandbox network (SandboxNetwork fits; so does a remote one). */
export interface SandboxEndpoint {
  urlForSession(sessionName: string): string;
  rootPublicKey: Uint8Array;
}

/** Creds + keys that outlive one socket (a "stored session"). */
export class MemoryAuth {
  readonly creds: AuthenticationCreds = initAuthCreds();
  readonly keys = new MemorySignalKeyStore();
}

export interface TestClientOptions {
  session: string;
  auth?: MemoryAuth;
  /** Baileys config overrides (e.g. qrTimeout). */
  socket?: Partial<UserFacingSocketConfig>;
}

export interface CloseInfo {
  statusCode: number | undefined;
  message: string | undefined;
}

export class TestClient {
  readonly auth: MemoryAuth;
  readonly sock: WASocket;
  /** Messages from others, in arrival order. */
  readonly inbox: WAMessage[] = [];
  readonly updates: WAMessageUpdate[] = [];
  readonly connectionUpdates: Array<Partial<ConnectionState>> = [];
  readonly qrs: string[] = [];
  closeInfo: CloseInfo | null = null;
  isOpen = false;

  constructor(endpoint: SandboxEndpoint, options: TestClientOptions) {
    // The client side trusts the sandbox root (done by the process that runs the client, never by the sandbox).
    WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(endpoint.rootPublicKey);
    this.auth = options.auth ?? new MemoryAuth();
    this.sock = makeWASocket({
      auth: { creds: this.auth.creds, keys: this.auth.keys },
      waWebSocketUrl: endpoint.urlForSession(options.session),
      logger: pino({ level: process.env.TEST_BAILEYS_LOG ?? 'silent' }),
      markOnlineOnConnect: false,
      syncFullHistory: false,
      shouldSyncHistoryMessage: () => false,
      connectTimeoutMs: 10_000,
      ...options.socket,
    });
    this.sock.ev.on('connection.update', (update) => {
      this.connectionUpdates.push(update);
      if (update.qr) this.qrs.push(update.qr);
      if (update.connection === 'open') this.isOpen = true;
      if (update.connection === 'close') {
        this.isOpen = false;
        const error = update.lastDisconnect?.error as { output?: { statusCode?: number }; message?: string } | undefined;
        this.closeInfo = { statusCode: error?.output?.statusCode, message: error?.message };
      }
    });
    this.sock.ev.on('messages.upsert', ({ messages }) => {
      for (const message of messages) if (!message.key.fromMe) this.inbox.push(message);
    });
    this.sock.ev.on('messages.update', (updates) => this.updates.push(...updates));
  }

  /** Resolves when the connection opens; rejects if it closes first. */
  async waitForOpen(timeoutMs = 45_000): Promise<void> {
    await waitFor(
      () => {
        if (this.closeInfo && !this.isOpen) throw new Error(`closed with ${this.closeInfo.statusCode}: ${this.closeInfo.message}`);
        return this.isOpen;
      },
      'connection open',
      timeoutMs,
    );
  }

  /** The next QR after `seen` QRs have been shown (the first by default). */
  async waitForQr(seen = 0, timeoutMs = 45_000): Promise<string> {
    return waitFor(() => this.qrs[seen], `QR #${seen + 1}`, timeoutMs);
  }

  async waitForClose(timeoutMs = 45_000): Promise<CloseInfo> {
    return waitFor(() => this.closeInfo, 'connection close', timeoutMs);
  }

  /** Latest status Baileys reported for one of our sent messages (messages.update). */
  statusOf(messageId: string): number | undefined {
    let status: number | undefined;
    for (const u of this.updates) if (u.key.id === messageId && typeof u.update.status === 'number') status = u.update.status;
    return status;
  }

  /** Statuses in the order they arrived for one message id. */
  statusesOf(messageId: string): number[] {
    return this.updates.filter((u) => u.key.id === messageId && typeof u.update.status === 'number').map((u) => u.update.status as number);
  }

  textsReceived(): string[] {
    return this.inbox.map((m) => m.message?.conversation ?? m.message?.extendedTextMessage?.text ?? '');
  }

  async sendText(phone: string, text: string): Promise<string> {
    const sent = await this.sock.sendMessage(`${phone}@s.whatsapp.net`, { text });
    if (!sent?.key.id) throw new Error('sendMessage returned no id');
    return sent.key.id;
  }

  /**
   * Ends the socket. A connected one first does a ping round trip: queries
   * Baileys still awaits when it ends (init queries right after open, a
   * pairing-code step) would otherwise keep 60 s timers alive after the test.
   */
  async end(): Promise<void> {
    if (this.closeInfo) return;
    if (this.sock.ws.isOpen) {
      await this.sock
        .query({ tag: 'iq', attrs: { to: 's.whatsapp.net', type: 'get', xmlns: 'w:p' }, content: [{ tag: 'ping', attrs: {} }] }, 5000)
        .catch(() => undefined);
    }
    await this.sock.end(undefined);
  }
}

/** What pairing needs from the network. */
export interface PairingEndpoint extends SandboxEndpoint {
  scan(sessionName: string, qr: string, options?: { phone?: string }): Promise<{ phone: string }>;
}

/**
 * Full QR pairing as a user does it: start a fresh client, scan its first QR,
 * let it restart on 515, and return the logged-in client and its stored auth.
 */
export async function pairClient(
  network: PairingEndpoint,
  session: string,
  options: { phone?: string; socket?: Partial<UserFacingSocketConfig> } = {},
): Promise<{ client: TestClient; auth: MemoryAuth; phone: string }> {
  const auth = new MemoryAuth();
  const first = new TestClient(network, { session, auth, socket: options.socket });
  const qr = await first.waitForQr();
  const { phone } = await network.scan(session, qr, { phone: options.phone });
  const closed = await first.waitForClose();
  if (closed.statusCode !== 515) throw new Error(`expected a 515 restart after pairing, got ${closed.statusCode}`);
  const client = new TestClient(network, { session, auth, socket: options.socket });
  await client.waitForOpen();
  return { client, auth, phone };
}
