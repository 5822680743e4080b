import {
  generateWAMessageContent,
  isJidGroup,
  jidDecode,
  jidNormalizedUser,
  makeWASocket,
  S_WHATSAPP_NET,
  type BaileysEventMap,
  type ConnectionState,
  type proto,
  type WAMessage,
  type WAMessageKey,
} from '@whiskeysockets/baileys';
import type { AsyncLocalStorage } from 'node:async_hooks';
import type { Agent as HttpsAgent } from 'node:https';
import type { Dispatcher } from 'undici';
import { phoneDigits, PHONE_RULE } from '../../../../common/validation/phone-number';
import type { Logger } from 'pino';
import type {
  DownloadedMedia,
  EngineConnection,
  EngineConnectOptions,
  EngineDisconnect,
  EngineEvent,
  OutboundContent,
  SendOptions,
  Presence,
} from '../whatsapp-engine.port';
import { captureAsyncLocalStorages, enableOnlyDuringTransactions } from './async-local-storage-tracker';
import type { BaileysAuthState, BaileysLogger } from './baileys-auth-state';
import { settlesWithin } from '../../../../common/async/settles-within';
import { answerToNextTag, describeIqError, formatPairingCode, rejectPendingQueries, serverAck, waitForIdle } from './baileys-socket.helpers';
import { WA_BROWSER, WA_WEB_VERSION } from './baileys-version';
import type { SocketCaches } from './bounded-cache.store';
import { classifyDisconnect } from './classify-disconnect';
import { downloadMedia } from './media-download';
import { CompanionRegRefresh } from './companion-reg-refresh';
import { CredsWriter } from './creds-writer';
import { InboundCommitGate, type RawSend } from './inbound-commit-gate';
import { normalizeInboundMessage, participantReceiptOf, receiptOf, receiptOfOwnUpsert, receiptStatusOf } from './inbound-message.mapper';
import { toBaileysContent, toQuotedMessage } from './outbound-content.mapper';

type WASocket = ReturnType<typeof makeWASocket>;
type WsListener = (...args: unknown[]) => void;
/** What a frame listener gets: a decoded stanza, or raw bytes during the handshake. */
type WsFrame = { tag?: string; attrs?: Record<string, string> } | Uint8Array;

export interface BaileysConnectionSettings {
  /** ws:// URL of the sandbox for this session; undefined = real WhatsApp. */
  waWebSocketUrl?: string;
  connectTimeoutMs: number;
  /** Lifetime of every QR; undefined = Baileys' default (first 60 s, then 20 s each). */
  qrTimeoutMs?: number;
  /** How long a requested pairing code defers a companion_reg_refresh rotation. */
  pairingCodeFlowMs: number;
  /** Upper bound for the socket to close before it is terminated. */
  closeTimeoutMs: number;
  /** How long a download waits for the sender's phone to re-upload expired media. */
  mediaReuploadTimeoutMs: number;
  /**
   * Sandbox mode only: agents that trust the sandbox media server's test CA,
   * for media uploads (Node https) and downloads (fetch). Undefined = Node's
   * defaults (public roots only).
   */
  media?: { fetchAgent: HttpsAgent; dispatcher: Dispatcher };
  /**
   * Longest an inbound message may hold the socket's outgoing frames (its
   * delivery receipt among them) while it is being recorded; then they go
   * anyway, logged (see InboundCommitGate).
   */
  inboundSettleTimeoutMs: number;
  /**
   * How long a send waits for WhatsApp's server to acknowledge the message
   * (frames the gate holds count against it: keep it above
   * inboundSettleTimeoutMs).
   */
  sendAckTimeoutMs: number;
}

/** Baileys' QR lifetimes in rc14 (lib/Socket/socket.js, pair-device handler). */
const FIRST_QR_MS = 60_000;
const NEXT_QR_MS = 20_000;

/**
 * One live Baileys socket of one session, in ZapHub's terms. It owns every
 * listener, cache and timer it creates and releases all of them when the
 * socket closes, whoever closed it: a start/stop loop must not grow memory.
 * Exactly one `close` event is emitted per connection.
 */
export class BaileysConnection implements EngineConnection {
  private readonly sock: WASocket;
  private readonly writer: CredsWriter;
  private readonly companion: CompanionRegRefresh;
  /** Removes each listener this connection added to the socket. */
  private readonly unsubscribers: Array<() => void> = [];
  private lastFrameAt = Date.now();
  private isOpen = false;
  private qrCount = 0;
  private currentQrExpiresAt: Date | null = null;
  private qrWaiters: Array<() => void> = [];
  private closedByUs = false;
  private closeEmitted = false;
  private closing: Promise<void> | null = null;
  private readonly closed: Promise<void>;
  private resolveClosed!: () => void;
  private releasing: Promise<void> | null = null;
  /** Resolves once release() finished: the last creds and key writes of this socket are stored. */
  readonly released: Promise<void>;
  private resolveReleased!: () => void;
  private readonly asyncStorages: AsyncLocalStorage<unknown>[];
  /** Holds outgoing frames (receipts among them) until the inbound messages before them are recorded. */
  private readonly gate: InboundCommitGate;
  private settleTimeouts = 0;

  constructor(
    private readonly options: EngineConnectOptions,
    private readonly auth: BaileysAuthState,
    private readonly caches: SocketCaches,
    private readonly settings: BaileysConnectionSettings,
    private readonly log: Logger,
    baileysLogger: BaileysLogger,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.released = new Promise((resolve) => (this.resolveReleased = resolve));
    const creds = auth.state.creds;
    this.writer = new CredsWriter({
      snapshot: auth.serializeCreds,
      save: (serialized) => options.auth.saveCreds(serialized),
      onSaved: () => this.emit({ type: 'creds' }),
      onError: (error) => this.log.error({ err: String(error) }, 'saving creds failed; will retry'),
    });
    this.companion = new CompanionRegRefresh({
      creds,
      persistCreds: () => this.writer.request(),
      emitQr: (qr) => this.emit({ type: 'qr', value: qr, expiresAt: this.currentQrExpiresAt ?? new Date(Date.now() + NEXT_QR_MS) }),
      pairingCodeFlowMs: settings.pairingCodeFlowMs,
      onRotated: () => this.log.warn('companion_reg_refresh: adv secret rotated, QR re-rendered with the same ref'),
    });

    // Baileys gives every socket an AsyncLocalStorage it never disables: take hold of it, keep it
    // enabled only while a key-store transaction runs, disable it for good on release (see the tracker).
    const { value: sock, storages } = captureAsyncLocalStorages(() => makeWASocket({
      auth: auth.state,
      logger: baileysLogger,
      version: WA_WEB_VERSION,
      browser: WA_BROWSER,
      ...(settings.waWebSocketUrl ? { waWebSocketUrl: settings.waWebSocketUrl } : {}),
      connectTimeoutMs: settings.connectTimeoutMs,
      ...(settings.qrTimeoutMs ? { qrTimeout: settings.qrTimeoutMs } : {}),
      // A gateway is not "online" on the user's phone and does not want history:
      // both default to true in Baileys and cost memory, bandwidth and notifications.
      markOnlineOnConnect: false,
      syncFullHistory: false,
      shouldSyncHistoryMessage: () => false,
      msgRetryCounterCache: caches.msgRetryCounter,
      userDevicesCache: caches.userDevices,
      callOfferCache: caches.callOffer,
      placeholderResendCache: caches.placeholderResend,
      cachedGroupMetadata: async (jid) => caches.groupMetadata.get(jid),
      getMessage: (key) => this.lookupMessage(key),
      // (RequestInit's type lacks `dispatcher`, which Node's fetch honours.)
      ...(settings.media ? { fetchAgent: settings.media.fetchAgent, options: { dispatcher: settings.media.dispatcher } as RequestInit } : {}),
    }));
    this.sock = sock;
    this.asyncStorages = storages;
    this.gate = this.installCommitGate();
    enableOnlyDuringTransactions(sock.authState.keys, storages);
    this.listen();
  }

  // ---- events -------------------------------------------------------------

  /**
   * Routes every frame the socket writes through the gate. Baileys writes
   * through its WebSocketClient's `socket.send` (created synchronously inside
   * makeWASocket), after Noise encryption, in order.
   */
  private installCommitGate(): InboundCommitGate {
    const raw = (this.sock.ws as unknown as { socket: { send: RawSend } | null }).socket;
    if (!raw) throw new Error('Baileys created no WebSocket: cannot hold receipts until inbound messages are recorded');
    const send = raw.send.bind(raw);
    const gate = new InboundCommitGate({
      send,
      settleTimeoutMs: this.settings.inboundSettleTimeoutMs,
      onTimeout: (ids) => {
        this.settleTimeouts += ids.length;
        this.log.warn(
          { waMessageIds: ids.slice(0, 10), count: ids.length, total: this.settleTimeouts },
          'inbound messages not recorded (or not upserted by Baileys) in time: releasing the frames held behind them',
        );
      },
      onWriteError: (error, what) => {
        if (what === 'frame') this.log.debug({ err: String(error) }, 'a held frame could not be written (socket closed)');
        else this.log.error({ err: String(error) }, 'a deferred Signal key write failed');
      },
    });
    raw.send = (data, cb) => gate.send(data, cb);
    // Key writes (a decrypted message's consumed keys among them) are stored only once the messages before them are recorded.
    this.auth.holdKeyWritesWith(gate);
    return gate;
  }

  private listen(): void {
    const { sock } = this;
    this.onWs('frame', (frame: unknown) => {
      this.lastFrameAt = Date.now();
      // Synchronously, before Baileys' (async) handler can send the receipt: hold what follows.
      const node = frame as WsFrame;
      if (!(node instanceof Uint8Array) && node.tag === 'message' && node.attrs?.id) this.gate.messageArrived(node.attrs.id);
    });
    this.onWs('CB:notification,type:companion_reg_refresh', () => this.onCompanionRegRefresh());
    this.onWs('CB:iq,,pair-success', () => this.companion.markPaired());
    // Events buffered while the socket catches up offline messages would be
    // dropped by Baileys' end(): deliver them before the close.
    sock.registerSocketEndHandler(() => void sock.ev.flush());

    this.onEv('connection.update', (update) => this.onConnectionUpdate(update));
    this.onEv('creds.update', () => this.writer.request());
    this.onEv('messages.upsert', ({ messages, type }) => {
      for (const msg of messages) {
        const handedOver: Array<Promise<void> | void> = [];
        const receipt = receiptOfOwnUpsert(msg);
        if (receipt) handedOver.push(this.emit(receipt));
        if (isReceivedUpsert(type, msg)) {
          const message = normalizeInboundMessage(msg);
          if (message) handedOver.push(this.emit({ type: 'message', message }));
        }
        // Whatever Baileys upserted for this id (recorded, or nothing to record): its receipt may go once handed over.
        if (msg.key?.id) this.settleAfter(msg.key.id, handedOver);
      }
    });
    this.onEv('messages.update', (updates) => {
      for (const { key, update } of updates) {
        const receipt = receiptOf(key, receiptStatusOf(update.status));
        if (receipt) this.emit(receipt);
      }
    });
    // Groups report receipts per participant: each is recorded for its member, and the
    // first delivery / read of any member moves the message on (the consumer keeps
    // statuses monotonic).
    this.onEv('message-receipt.update', (updates) => {
      for (const { key, receipt } of updates) {
        const event = participantReceiptOf(key, receipt);
        if (event) this.emit(event);
      }
    });
    // Group metadata is cached for sends; any change invalidates it.
    this.onEv('groups.update', (updates) => updates.forEach((g) => g.id && this.caches.groupMetadata.del(g.id)));
    this.onEv('group-participants.update', ({ id }) => this.caches.groupMetadata.del(id));
  }

  private onConnectionUpdate(update: Partial<ConnectionState>): void {
    if (update.qr) {
      const lifetime = this.settings.qrTimeoutMs ?? (this.qrCount === 0 ? FIRST_QR_MS : NEXT_QR_MS);
      this.qrCount++;
      this.currentQrExpiresAt = new Date(Date.now() + lifetime);
      this.emit({ type: 'qr', value: this.companion.rewriteQr(update.qr), expiresAt: this.currentQrExpiresAt });
      this.releaseQrWaiters();
    }
    if (update.connection === 'open') {
      this.isOpen = true;
      this.companion.markPaired();
      const me = this.auth.state.creds.me;
      const id = jidNormalizedUser(me?.id);
      this.emit({ type: 'open', me: { id, phone: jidDecode(id)?.user ?? '', pushName: me?.name && me.name !== '~' ? me.name : null } });
    }
    if (update.connection === 'close') {
      this.isOpen = false;
      // What is still held never leaves: WhatsApp delivers those messages again at the next login.
      this.gate.close();
      const error = update.lastDisconnect?.error as { output?: { statusCode?: number }; message?: string } | undefined;
      this.emitClose(classifyDisconnect(error?.output?.statusCode, error?.message, this.closedByUs));
      this.release().catch((error: unknown) => this.log.error({ err: String(error) }, 'releasing the connection failed'));
    }
  }

  private onCompanionRegRefresh(): void {
    // Only an unpaired companion is asked to refresh; a linked device ignores it.
    if (this.isPaired()) return;
    const outcome = this.companion.onRefreshNotification();
    this.log.warn({ outcome }, 'companion_reg_refresh received');
  }

  /**
   * Runs `fn` (and every async chain it starts) outside Baileys' key-store
   * transactions. Baileys finds its transaction in an AsyncLocalStorage and
   * joins it when there is one ("nested"): a caller whose async chain began
   * inside a transaction that is over (a handler of an event Baileys emitted
   * there, a drain that handler started...) would join that finished one, read
   * Signal state from its stale cache and never store what it changed, so the
   * next send reused a message counter and the contact dropped the message.
   */
  private outsideKeyTransactions<T>(fn: () => T): T {
    return this.asyncStorages.reduce<() => T>((inner, storage) => () => storage.exit(inner), fn)();
  }

  private emit(event: EngineEvent): Promise<void> | void {
    if (this.closeEmitted) return;
    try {
      // Baileys emits some events inside its key-store transactions: what the consumer starts must not inherit one.
      return this.outsideKeyTransactions(() => this.options.onEvent(event));
    } catch (error) {
      // A throwing consumer must not break Baileys' event loop.
      this.log.error({ err: String(error), event: event.type }, 'engine event handler threw');
    }
  }

  /** Opens the gate for `waMessageId` once the consumer has recorded what was handed over (never rejects). */
  private settleAfter(waMessageId: string, handedOver: Array<Promise<void> | void>): void {
    const pending = handedOver.filter((p): p is Promise<void> => p instanceof Promise);
    if (pending.length === 0) {
      this.gate.settled(waMessageId);
      return;
    }
    Promise.all(pending).then(
      () => this.gate.settled(waMessageId),
      (error: unknown) => {
        // The consumer's promise is not supposed to reject (it logs and counts its own failures).
        this.log.error({ err: String(error), waMessageId }, 'recording an inbound message failed; releasing its receipt');
        this.gate.settled(waMessageId);
      },
    );
  }

  private emitClose(disconnect: EngineDisconnect): void {
    if (this.closeEmitted) return;
    this.emit({ type: 'close', disconnect });
    this.closeEmitted = true;
    this.resolveClosed();
  }

  private onWs(event: string, listener: WsListener): void {
    this.sock.ws.on(event, listener);
    this.unsubscribers.push(() => this.sock.ws.off(event, listener));
  }

  private onEv<E extends keyof BaileysEventMap>(event: E, listener: (arg: BaileysEventMap[E]) => void): void {
    this.sock.ev.on(event, listener);
    this.unsubscribers.push(() => this.sock.ev.off(event, listener));
  }

  // ---- EngineConnection ---------------------------------------------------

  async send(chatId: string, content: OutboundContent, opts: SendOptions = {}): Promise<{ waMessageId: string }> {
    this.assertOpen();
    if (isJidGroup(chatId)) await this.ensureGroupMetadata(chatId);
    // Listening before sending, so a fast ack is not missed. If sendMessage throws first, the
    // listener ends by itself (ack, timeout or close) and its outcome is not needed.
    const acked = opts.waMessageId ? serverAck(this.sock, opts.waMessageId, this.settings.sendAckTimeoutMs) : null;
    acked?.catch(() => undefined);
    const options = {
      ...(opts.waMessageId ? { messageId: opts.waMessageId } : {}),
      ...(opts.quoted ? { quoted: toQuotedMessage(chatId, opts.quoted) } : {}),
    };
    const result = await this.outsideKeyTransactions(() => this.sock.sendMessage(chatId, toBaileysContent(chatId, content), options));
    const waMessageId = result?.key?.id;
    if (!waMessageId) throw new Error('WhatsApp returned no message id');
    // Baileys was told the frame was written while the gate may still hold it: the caller records
    // the message as SENT on return, so it must really have left (else a crash would lose it).
    await this.gate.whenWritten();
    // Sent means the server has it: a message it never took (lost on the way) is a failed attempt.
    await acked;
    return { waMessageId };
  }

  async sendPresence(chatId: string, presence: Presence): Promise<void> {
    this.assertOpen();
    await this.outsideKeyTransactions(() => this.sock.sendPresenceUpdate(presence, chatId));
  }

  async markRead(chatId: string, waMessageIds: string[]): Promise<void> {
    this.assertOpen();
    if (waMessageIds.length === 0) return;
    const keys: WAMessageKey[] = waMessageIds.map((id) => ({ remoteJid: chatId, id, fromMe: false }));
    await this.outsideKeyTransactions(() => this.sock.readMessages(keys));
  }

  async downloadMedia(raw: unknown): Promise<DownloadedMedia> {
    this.assertUsable();
    const reupload = (message: WAMessage) => this.outsideKeyTransactions(() => this.sock.updateMediaMessage(message));
    return downloadMedia(raw, reupload, { dispatcher: this.settings.media?.dispatcher, reuploadTimeoutMs: this.settings.mediaReuploadTimeoutMs });
  }

  async requestPairingCode(phone: string): Promise<string> {
    this.assertUsable();
    // The same rule the API validates with (one place: common/validation/phone-number.ts).
    const digits = phoneDigits(phone);
    if (!digits) throw new Error(`phone must be ${PHONE_RULE}`);
    if (this.isPaired()) throw new Error('session is already paired');
    // The server is ready for a pairing code once it sent the pairing refs (first QR).
    await this.waitForFirstQr();
    this.companion.beginPairingCodeFlow();
    try {
      // rc14's requestPairingCode resolves before WhatsApp answered, so a code
      // the server refused would look valid (Baileys issue #2737). Wait for the
      // answer to its iq: Baileys numbers tags `<prefix><n>` and takes the next
      // one synchronously inside requestPairingCode.
      const answer = answerToNextTag(this.sock, this.settings.connectTimeoutMs);
      const code = await this.outsideKeyTransactions(() => this.sock.requestPairingCode(digits));
      const response = await answer;
      if (!response) throw new Error('WhatsApp did not confirm the pairing code in time');
      if (response.attrs.type === 'error') throw new Error(`WhatsApp refused the pairing code request (${describeIqError(response)})`);
      return formatPairingCode(code);
    } catch (error) {
      this.companion.endPairingCodeFlow(false);
      throw error;
    }
  }

  async ping(timeoutMs: number): Promise<void> {
    this.assertUsable();
    // The same round trip Baileys' keep-alive makes every keepAliveIntervalMs.
    await this.sock.query(
      { tag: 'iq', attrs: { id: this.sock.generateMessageTag(), to: S_WHATSAPP_NET, type: 'get', xmlns: 'w:p' }, content: [{ tag: 'ping', attrs: {} }] },
      timeoutMs,
    );
  }

  lastActivityAt(): number {
    return this.lastFrameAt;
  }

  logout(): Promise<void> {
    return this.shutdown(async () => {
      if (this.auth.state.creds.me?.id && this.sock.ws.isOpen) {
        // Sends remove-companion-device, then ends the socket with 401 (reported as closed_by_us).
        await this.sock.logout();
      } else {
        await this.sock.end(undefined);
      }
    });
  }

  close(): Promise<void> {
    return this.shutdown(() => this.sock.end(undefined));
  }

  cacheSizes(): Record<string, number> {
    const sizes: Record<string, number> = {};
    for (const [name, cache] of Object.entries(this.caches)) sizes[name] = cache.size;
    return sizes;
  }

  // ---- internals ----------------------------------------------------------

  private shutdown(endSocket: () => Promise<void>): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      if (!this.closeEmitted) {
        this.closedByUs = true;
        try {
          await endSocket();
        } catch (error) {
          this.log.warn({ err: String(error) }, 'ending the socket failed');
          await this.sock.end(undefined).catch(() => undefined);
        }
        if (!(await settlesWithin(this.closed, this.settings.closeTimeoutMs))) {
          // The peer never completed the close handshake: drop the TCP socket.
          (this.sock.ws as unknown as { socket?: { terminate?: () => void } }).socket?.terminate?.();
          this.emitClose(classifyDisconnect(null, 'closed_by_us', true));
        }
      }
      await this.release();
    })();
    return this.closing;
  }

  /** Frees everything the connection holds; runs once, after the close event. */
  private release(): Promise<void> {
    this.releasing ??= this.releaseOnce().finally(() => this.resolveReleased());
    return this.releasing;
  }

  private async releaseOnce(): Promise<void> {
    this.gate.close();
    this.companion.dispose();
    this.releaseQrWaiters();
    rejectPendingQueries(this.sock);
    // Baileys keeps post-login work running after end() (own LID mapping and
    // session migration write keys and fill LRU caches with week-long timers).
    // Let it finish so no key write races a restart, then empty those caches.
    await waitForIdle(this.auth.keyOpsInFlight, this.settings.closeTimeoutMs);
    this.sock.signalRepository.close?.();
    // The last creds state must reach the store before the session can restart.
    await this.writer.stop();
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    for (const cache of Object.values(this.caches)) cache.close();
    this.sock.messageRetryManager?.clear();
    // Nothing of this socket runs any more: drop its AsyncLocalStorage from Node's process-wide list.
    for (const storage of this.asyncStorages) storage.disable();
  }

  /** Linked to an account: pair-success stored the ADV identity (`account`). */
  private isPaired(): boolean {
    return Boolean(this.auth.state.creds.me?.id && this.auth.state.creds.account);
  }

  private assertOpen(): void {
    this.assertUsable();
    if (!this.isOpen) throw new Error('connection is not open yet');
  }

  private assertUsable(): void {
    if (this.closing || this.closeEmitted) throw new Error('connection is closed');
  }

  private async waitForFirstQr(): Promise<void> {
    if (this.qrCount > 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.qrWaiters = this.qrWaiters.filter((w) => w !== done);
        reject(new Error('WhatsApp did not offer pairing in time'));
      }, this.settings.connectTimeoutMs);
      const done = () => {
        clearTimeout(timer);
        if (this.closeEmitted || this.closing) reject(new Error('connection is closed'));
        else resolve();
      };
      this.qrWaiters.push(done);
    });
  }

  private releaseQrWaiters(): void {
    const waiters = this.qrWaiters;
    this.qrWaiters = [];
    for (const waiter of waiters) waiter();
  }

  private async ensureGroupMetadata(jid: string): Promise<void> {
    if (this.caches.groupMetadata.get(jid)) return;
    this.caches.groupMetadata.set(jid, await this.sock.groupMetadata(jid));
  }

  /** WhatsApp's retry requests for a message no longer in Baileys' recent-message cache. */
  private async lookupMessage(key: WAMessageKey): Promise<proto.IMessage | undefined> {
    if (!this.options.getMessage || !key.id || !key.remoteJid) return undefined;
    try {
      const content = await this.options.getMessage(key.id);
      if (!content) return undefined;
      return await generateWAMessageContent(toBaileysContent(key.remoteJid, content), { upload: this.sock.waUploadToServer });
    } catch (error) {
      this.log.warn({ err: String(error) }, 'getMessage for a retry failed');
      return undefined;
    }
  }
}

/**
 * Whether an upsert is a message someone sent this account: every `notify`,
 * and an `append` from someone else. WhatsApp delivers what arrived while the
 * device was offline with `offline="1"`, which Baileys upserts as `append`:
 * ignoring those lost every message sent to a session while it was down. An
 * `append` of our own (`fromMe`) is this socket's own send echoed back, not
 * a message to record (the recorder would take it for one the phone sent).
 */
export function isReceivedUpsert(type: string, msg: { key?: { fromMe?: boolean | null; remoteJid?: string | null } | null }): boolean {
  if (type === 'notify') return true;
  // Channel (newsletter) posts are upserted as append too: not messages to this account.
  return type === 'append' && msg.key?.fromMe !== true && !msg.key?.remoteJid?.endsWith('@newsletter');
}
