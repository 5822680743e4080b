import { WA_CERT_DETAILS } from '@whiskeysockets/baileys';
import pino, { type LevelWithSilent, type Logger } from 'pino';
import { agentsTrusting, type AgentsTrusting } from '../../../../common/tls/agents-trusting';
import type { EngineConnection, EngineConnectOptions, WhatsAppEngine } from '../whatsapp-engine.port';
import { loadBaileysAuthState, type BaileysLogger } from './baileys-auth-state';
import { BaileysConnection, type BaileysConnectionSettings } from './baileys-connection';
import { settlesWithin } from '../../../../common/async/settles-within';
import { createSocketCaches } from './bounded-cache.store';
import { installLibsignalJobContext } from './libsignal-job-context';

/** Where the sandbox's fake WhatsApp listens and the test root its certificates chain to. */
export interface SandboxEndpoint {
  urlForSession(name: string): string;
  rootPublicKey: Uint8Array;
  /**
   * PEM of the test CA of the sandbox's media server. Read when a session
   * connects (the in-process sandbox makes it at start, after the engine is
   * built). Absent: media uploads and downloads fail (the server is not trusted).
   */
  readonly mediaCaPem?: string;
}

export interface BaileysEngineOptions {
  logLevel: LevelWithSilent;
  /** Points every socket at the sandbox and trusts its test root. Never in production. */
  sandbox?: SandboxEndpoint;
  /** Handshake and send timeout of a socket (Baileys default 20 s). */
  connectTimeoutMs?: number;
  /** Lifetime of each QR; default Baileys' own (first 60 s, then 20 s). */
  qrTimeoutMs?: number;
  /** How long a requested pairing code defers an adv-secret rotation (default 60 s, as whatsapp-rust). */
  pairingCodeFlowMs?: number;
  /** How long close() waits for the socket before terminating it (default 5 s). */
  closeTimeoutMs?: number;
  /** How long a media download waits for the sender's phone to re-upload expired media (default 30 s). */
  mediaReuploadTimeoutMs?: number;
  /** Longest an inbound message may hold a socket's outgoing frames while it is recorded (default 10 s). */
  inboundSettleTimeoutMs?: number;
  /** How long a send waits for the server's ack of the message before it fails (default 15 s). */
  sendAckTimeoutMs?: number;
}

/** Upper bound for a session's next socket to wait for its previous one to release (see connect). */
const HANDOVER_WAIT_MS = 15_000;

/** Baileys logs JIDs and message details at info and below: it never logs below warn. */
const BAILEYS_QUIET_LEVELS: LevelWithSilent[] = ['silent', 'fatal', 'error', 'warn'];

/** Emitted by rc14 on every socket because history sync is off on purpose (see the constructor). */
const HISTORY_SYNC_WARNING = 'DISABLING ALL SYNC';

/**
 * The WhatsAppEngine on Baileys 7 (rc14). connect() loads the session's auth
 * state (rejecting when it cannot be read), opens one socket and resolves at
 * once; everything after that (QR, open, close, messages, receipts) arrives
 * through `onEvent`.
 */
export class BaileysEngine implements WhatsAppEngine {
  private readonly log: Logger;
  private readonly baileysLog: Logger;
  /** Per session, the release of its latest connection attempt (removed once released). */
  private readonly lastRelease = new Map<string, Promise<void>>();
  /** Agents trusting the sandbox media CA, shared by every socket (made on first use, remade if the CA changes). */
  private mediaAgents: { caPem: string; agents: AgentsTrusting } | null = null;

  constructor(private readonly options: BaileysEngineOptions) {
    // Before any socket encrypts: Signal jobs of one contact, shared by every session of the process, must not run in another's transaction.
    installLibsignalJobContext();
    this.log = pino({ level: options.logLevel, base: { component: 'whatsapp-engine' } });
    const baileysLevel = BAILEYS_QUIET_LEVELS.includes(options.logLevel) ? options.logLevel : 'warn';
    this.baileysLog = pino({
      level: baileysLevel,
      base: { component: 'baileys' },
      hooks: {
        logMethod(args, method) {
          if (args.some((a) => typeof a === 'string' && a.includes(HISTORY_SYNC_WARNING))) return;
          method.apply(this, args);
        },
      },
    });
    if (options.sandbox) {
      // Baileys verifies the server's certificate chain against this key; the
      // object is process-global, so this process then trusts only the sandbox.
      WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(options.sandbox.rootPublicKey);
      this.log.warn('SANDBOX: trusting the sandbox test root instead of WhatsApp; no real WhatsApp connection is possible');
    }
    this.log.info('history sync disabled for every session (no chat history is downloaded or stored)');
  }

  /**
   * A session's next socket reads the auth state only after its previous
   * socket of this process released: a closed socket's last creds write may
   * still be in flight (after pairing, the 515 reconnect would otherwise read
   * the creds from before pair-success and show a new QR).
   */
  async connect(options: EngineConnectOptions): Promise<EngineConnection> {
    const { sessionId } = options;
    const previous = this.lastRelease.get(sessionId);
    let resolveReleased!: () => void;
    const released = new Promise<void>((resolve) => (resolveReleased = resolve));
    // Cannot throw: resolves the hand-over and forgets it once it is the latest (bounded map).
    const markReleased = () => {
      resolveReleased();
      if (this.lastRelease.get(sessionId) === released) this.lastRelease.delete(sessionId);
    };
    this.lastRelease.set(sessionId, released);
    try {
      const log = this.log.child({ session: options.sessionName });
      if (previous && !(await settlesWithin(previous, HANDOVER_WAIT_MS))) {
        log.warn(`the previous socket did not release within ${HANDOVER_WAIT_MS / 1000} s; reading the auth state anyway`);
      }
      const connection = await this.open(options, log);
      // `released` never rejects (it settles in a finally); both paths end the hand-over.
      connection.released.then(markReleased, markReleased);
      return connection;
    } catch (error) {
      markReleased();
      throw error;
    }
  }

  private async open(options: EngineConnectOptions, log: Logger): Promise<BaileysConnection> {
    const baileysLog = this.baileysLog.child({ session: options.sessionName }) as unknown as BaileysLogger;
    const caches = createSocketCaches();
    const auth = await loadBaileysAuthState(options.auth, caches.signalKeys, baileysLog);
    const creds = auth.state.creds;
    if (creds.me?.id && !creds.account) {
      // A pairing code was requested but never completed: logging in with these
      // creds would fail. Start the pairing again (same identity keys).
      log.warn('unfinished pairing in stored creds; pairing again');
      creds.me = undefined;
      creds.pairingCode = undefined;
      creds.registered = false;
    }
    return new BaileysConnection(
      options,
      auth,
      caches,
      {
        waWebSocketUrl: this.options.sandbox?.urlForSession(options.sessionName),
        connectTimeoutMs: this.options.connectTimeoutMs ?? 20_000,
        qrTimeoutMs: this.options.qrTimeoutMs,
        pairingCodeFlowMs: this.options.pairingCodeFlowMs ?? 60_000,
        closeTimeoutMs: this.options.closeTimeoutMs ?? 5_000,
        mediaReuploadTimeoutMs: this.options.mediaReuploadTimeoutMs ?? 30_000,
        inboundSettleTimeoutMs: this.options.inboundSettleTimeoutMs ?? 10_000,
        sendAckTimeoutMs: this.options.sendAckTimeoutMs ?? 15_000,
        media: this.sandboxMediaAgents(log),
      },
      log,
      baileysLog,
    );
  }

  /**
   * Sandbox mode only: the agents Baileys uploads media with (`fetchAgent`)
   * and downloads it with (`options.dispatcher`), trusting the sandbox's media
   * CA besides the public roots. Undefined in production: sockets then use
   * Node's defaults, which trust only the public roots.
   */
  private sandboxMediaAgents(log: Logger): BaileysConnectionSettings['media'] {
    const caPem = this.options.sandbox?.mediaCaPem;
    if (!caPem) return undefined;
    if (this.mediaAgents?.caPem !== caPem) {
      // A new sandbox (restarted in this process): the old agents only hold idle sockets to a server that is gone.
      const stale = this.mediaAgents?.agents;
      stale?.close().catch((error: unknown) => log.warn({ err: String(error) }, 'closing the previous sandbox media agents failed'));
      this.mediaAgents = { caPem, agents: agentsTrusting(caPem) };
      log.warn('SANDBOX: trusting the sandbox media test CA for media uploads and downloads');
    }
    const { httpsAgent, dispatcher } = this.mediaAgents.agents;
    return { fetchAgent: httpsAgent, dispatcher };
  }
}
