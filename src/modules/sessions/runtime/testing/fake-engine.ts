/**
 * A scriptable WhatsAppEngine for unit tests of the session runtime (the real
 * Baileys path is covered end to end against the sandbox). Every `connect`
 * becomes a FakeConnectAttempt the test drives: hold or settle the auth-state
 * load, then emit engine events through the captured `onEvent`.
 *
 * Plain TypeScript, no jest globals: it can be imported from any spec.
 */
import { Readable } from 'node:stream';
import type {
  DisconnectKind,
  DownloadedMedia,
  EngineConnection,
  EngineConnectOptions,
  EngineDisconnect,
  EngineEvent,
  EngineMe,
  InboundMessage,
  OutboundContent,
  Presence,
  WhatsAppEngine,
} from '../../engine/whatsapp-engine.port';

export class Deferred<T> {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (error: unknown) => void;
  settled = false;

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = (value) => {
        this.settled = true;
        resolve(value);
      };
      this.reject = (error) => {
        this.settled = true;
        reject(error);
      };
    });
  }
}

/** Default close codes per kind (only informative: the runtime reads `kind`). */
const CODES: Partial<Record<DisconnectKind, number>> = {
  logged_out: 401,
  conflict: 440,
  restart_required: 515,
  connection_closed: 428,
  connection_lost: 408,
  bad_session: 500,
  forbidden: 403,
  multidevice_mismatch: 411,
  unavailable: 503,
};

export function disconnect(kind: DisconnectKind, message = ''): EngineDisconnect {
  return { code: CODES[kind] ?? null, kind, message };
}

export const TEST_ME: EngineMe = { id: '5511999998888@s.whatsapp.net', phone: '5511999998888', pushName: 'Tester' };

export function inboundMessage(overrides: Partial<InboundMessage> = {}): InboundMessage {
  return {
    waMessageId: 'WA-1',
    chatId: '5511888887777@s.whatsapp.net',
    chatIdAlt: null,
    fromMe: false,
    senderPhone: '5511888887777',
    pushName: 'Contact',
    type: 'text',
    text: 'hello',
    timestamp: new Date(0),
    raw: {},
    quotedWaMessageId: null,
    reactionTo: null,
    ...overrides,
  };
}

export interface FakeConnectionBehaviour {
  /** Emit a `close` (closed_by_us) through onEvent when close()/logout() is called. Default false. */
  emitCloseOnClose: boolean;
  /** What ping() does. Default: resolves. */
  ping: () => Promise<void>;
  /** What logout() does before it closes. Default: resolves. */
  logout: () => Promise<void>;
}

/** A socket of one connect attempt; records every call made on it. */
export class FakeConnection implements EngineConnection {
  /** Method names in call order. */
  readonly calls: string[] = [];
  readonly sent: Array<{ chatId: string; content: OutboundContent }> = [];
  closed = false;
  /** Epoch ms of the "last frame": 0 = idle since forever. */
  lastActivity = Date.now();
  behaviour: FakeConnectionBehaviour;

  constructor(
    private readonly attempt: FakeConnectAttempt,
    behaviour: Partial<FakeConnectionBehaviour>,
    private readonly journal: string[],
  ) {
    this.behaviour = { emitCloseOnClose: false, ping: async () => undefined, logout: async () => undefined, ...behaviour };
  }

  count(method: string): number {
    return this.calls.filter((c) => c === method).length;
  }

  private record(method: string): void {
    this.calls.push(method);
    this.journal.push(`${method}#${this.attempt.index}`);
  }

  async send(chatId: string, content: OutboundContent): Promise<{ waMessageId: string }> {
    this.record('send');
    this.sent.push({ chatId, content });
    return { waMessageId: `OUT-${this.sent.length}` };
  }

  async sendPresence(_chatId: string, _presence: Presence): Promise<void> {
    this.record('sendPresence');
  }

  async markRead(_chatId: string, _ids: string[]): Promise<void> {
    this.record('markRead');
  }

  async downloadMedia(_raw: unknown): Promise<DownloadedMedia> {
    this.record('downloadMedia');
    return { stream: Readable.from([]), mimetype: null, filename: null, size: null };
  }

  async requestPairingCode(_phone: string): Promise<string> {
    this.record('requestPairingCode');
    return 'ABCD-EFGH';
  }

  async ping(_timeoutMs: number): Promise<void> {
    this.record('ping');
    await this.behaviour.ping();
  }

  lastActivityAt(): number {
    return this.lastActivity;
  }

  async logout(): Promise<void> {
    this.record('logout');
    await this.behaviour.logout();
    this.shut();
  }

  async close(): Promise<void> {
    this.record('close');
    this.shut();
  }

  cacheSizes(): Record<string, number> {
    return { fake: 0 };
  }

  private shut(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.behaviour.emitCloseOnClose) this.attempt.close('closed_by_us');
  }
}

/** One call of `engine.connect`: its options (the onEvent to drive), its pending promise and its socket. */
export class FakeConnectAttempt {
  readonly connection: FakeConnection;
  private readonly deferred = new Deferred<EngineConnection>();

  constructor(
    readonly index: number,
    readonly options: EngineConnectOptions,
    behaviour: Partial<FakeConnectionBehaviour>,
    journal: string[],
  ) {
    this.connection = new FakeConnection(this, behaviour, journal);
  }

  get promise(): Promise<EngineConnection> {
    return this.deferred.promise;
  }

  get settled(): boolean {
    return this.deferred.settled;
  }

  /** The auth state loaded: the socket exists. */
  resolve(): FakeConnection {
    this.deferred.resolve(this.connection);
    return this.connection;
  }

  /** The auth state could not be read. */
  reject(error: Error = new Error('auth state unreadable')): void {
    this.deferred.reject(error);
  }

  emit(event: EngineEvent): void {
    this.options.onEvent(event);
  }

  qr(value = `qr-${this.index}`, expiresAt = new Date(Date.now() + 60_000)): void {
    this.emit({ type: 'qr', value, expiresAt });
  }

  open(me: EngineMe = TEST_ME): void {
    this.emit({ type: 'open', me });
  }

  close(kind: DisconnectKind, message = ''): void {
    this.emit({ type: 'close', disconnect: disconnect(kind, message) });
  }

  message(overrides: Partial<InboundMessage> = {}): void {
    this.emit({ type: 'message', message: inboundMessage(overrides) });
  }

  receipt(waMessageId: string, status: 'SENT' | 'DELIVERED' | 'READ' = 'DELIVERED', chatId = '5511888887777@s.whatsapp.net'): void {
    this.emit({ type: 'receipt', waMessageId, chatId, status });
  }
}

export class FakeEngine implements WhatsAppEngine {
  readonly attempts: FakeConnectAttempt[] = [];
  /** Resolve every connect at once (the auth state loads instantly). Default true. */
  autoResolve = true;
  /** Behaviour of the sockets created from now on. */
  behaviour: Partial<FakeConnectionBehaviour> = {};
  /** Called for each new attempt (after autoResolve), e.g. to script the offline unlink's socket. */
  onConnect: ((attempt: FakeConnectAttempt) => void) | null = null;

  /** @param journal shared, ordered log of what happened (for order assertions across fakes). */
  constructor(private readonly journal: string[] = []) {}

  connect(options: EngineConnectOptions): Promise<EngineConnection> {
    const attempt = new FakeConnectAttempt(this.attempts.length + 1, options, this.behaviour, this.journal);
    this.attempts.push(attempt);
    this.journal.push(`connect#${attempt.index}`);
    if (this.autoResolve) attempt.resolve();
    this.onConnect?.(attempt);
    return attempt.promise;
  }

  get count(): number {
    return this.attempts.length;
  }

  /** The n-th attempt, 1-based; throws when it was not made. */
  attempt(n: number): FakeConnectAttempt {
    const attempt = this.attempts[n - 1];
    if (!attempt) throw new Error(`engine.connect was called ${this.attempts.length} time(s), not ${n}`);
    return attempt;
  }

  get last(): FakeConnectAttempt {
    return this.attempt(this.attempts.length);
  }
}
