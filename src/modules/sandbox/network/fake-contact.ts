import { createHash } from 'node:crypto';
import { downloadMediaMessage, makeWASocket, type AnyMessageContent, type WAMessage, type WASocket } from '@whiskeysockets/baileys';
import pino from 'pino';
import type { AgentsTrusting } from '../../../common/tls/agents-trusting';
import type { ContactState } from './contact-state';
import type { ContactChange, ContactOutgoing } from './inbound-content';
import { describeContent, describeMedia } from './message-content';

export interface FakeContactOptions {
  phone: string;
  /** WebSocket URL of the network, with `?contact=<phone>`. */
  url: string;
  /** Keys, sent and received messages (owned by the directory, so they survive a reconnect). */
  state: ContactState;
  deliveryReceiptMs: number;
  readReceiptMs: number;
  timeoutMs: number;
  /** Phone number behind a JID the contact sees (LIDs are the network's to resolve). */
  phoneOf(jid: string | null | undefined): string | null;
  /** Called when the socket closed without close() (e.g. a fault): the directory forgets the contact. */
  onClosed?(contact: FakeContact): void;
  /** Work this contact does in the background that failed (a receipt, a media download, a close after a timeout): to be logged and counted. */
  onBackgroundError?(what: string, error: unknown): void;
  /** Agents that trust the network's media server (its test CA): uploads and downloads of media. */
  media?: Pick<AgentsTrusting, 'httpsAgent' | 'dispatcher'>;
}

/**
 * A WhatsApp user of the sandbox: a real Baileys socket logged in as the
 * primary device of its phone number, with keys in memory. It records what it
 * receives and, like a person with the app open, sends a delivery receipt
 * after `deliveryReceiptMs` and a read receipt `readReceiptMs` later.
 * (Baileys itself only sends an "inactive" receipt on receipt for a socket
 * that is not marked online, which senders ignore: the explicit receipts are
 * what turns into DELIVERY_ACK / READ on the sender.)
 */
export class FakeContact {
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Media downloads still running (close() waits for them). */
  private readonly downloads = new Set<Promise<void>>();
  private closed = false;

  private constructor(
    readonly phone: string,
    private readonly sock: WASocket,
    private readonly options: FakeContactOptions,
  ) {}

  /** Connects and resolves once logged in with keys uploaded (Baileys opens only after its pre-key upload). */
  static async connect(options: FakeContactOptions): Promise<FakeContact> {
    const { state } = options;
    const sock = makeWASocket({
      // The same creds object every time: Baileys keeps it up to date (creds.update), so a reconnect logs in as the same device.
      auth: { creds: state.creds, keys: state.keys },
      waWebSocketUrl: options.url,
      logger: pino({ level: 'silent' }),
      markOnlineOnConnect: false,
      syncFullHistory: false,
      fireInitQueries: false,
      shouldSyncHistoryMessage: () => false,
      generateHighQualityLinkPreview: false,
      // Loopback: a slow ping is enough, and each one is a timer tick per contact.
      keepAliveIntervalMs: 5 * 60_000,
      connectTimeoutMs: options.timeoutMs,
      getMessage: async (key) => (key.id ? state.sent.get(key.id) : undefined),
      // Media goes to the network's media server, whose certificate chains to its test CA.
      // (RequestInit's type lacks `dispatcher`, which Node's fetch honours.)
      ...(options.media ? { fetchAgent: options.media.httpsAgent, options: { dispatcher: options.media.dispatcher } as RequestInit } : {}),
    });
    const contact = new FakeContact(options.phone, sock, options);
    sock.ev.on('messages.upsert', ({ messages }) => {
      for (const message of messages) contact.record(message);
    });
    await contact.waitForOpen();
    return contact;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Sends a text to `toPhone` (real Signal encryption through the network); returns its WhatsApp message id. */
  sendText(toPhone: string, text: string): Promise<string> {
    return this.send(toPhone, { content: { text } });
  }

  /**
   * Sends `toPhone` a message, as a phone does: media is encrypted and
   * uploaded to the network's media server first (Baileys). A reply quotes the
   * message with id `replyTo`, one this contact sent or received (an unknown
   * id is quoted with an empty body). Returns the WhatsApp message id.
   */
  async send(toPhone: string, outgoing: ContactOutgoing): Promise<string> {
    const jid = `${toPhone}@s.whatsapp.net`;
    const quoted = outgoing.replyTo ? this.quotable(jid, outgoing.replyTo) : undefined;
    const content = outgoing.change ? this.changeContent(jid, outgoing.change) : outgoing.content;
    if (!content) throw new Error('nothing to send');
    const message = await this.sock.sendMessage(jid, content, quoted ? { quoted } : {});
    const id = message?.key.id;
    if (!id || !message.message) throw new Error('Baileys did not return the sent message');
    this.options.state.rememberSent(id, message.message);
    return id;
  }

  /** Ends the socket, cancels pending receipts and waits for media downloads under way. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.sock.end(undefined);
    await Promise.allSettled([...this.downloads]);
  }

  private waitForOpen(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`contact ${this.phone} did not connect within ${this.options.timeoutMs} ms`));
        this.close().catch((error: unknown) => this.options.onBackgroundError?.(`closing contact ${this.phone} after its connect timeout`, error));
      }, this.options.timeoutMs);
      this.sock.ev.on('connection.update', ({ connection, lastDisconnect }) => {
        if (connection === 'open') {
          clearTimeout(timer);
          resolve();
        } else if (connection === 'close') {
          // Either it never opened (reject) or it dropped later (the rejection is then a no-op).
          clearTimeout(timer);
          const code = (lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode;
          reject(new Error(`contact ${this.phone} closed before it opened (status ${code ?? 'unknown'})`));
          if (!this.closed) {
            this.closed = true;
            for (const t of this.timers) clearTimeout(t);
            this.timers.clear();
            this.options.onClosed?.(this);
          }
        }
      });
    });
  }

  /**
   * Adds what arrived to the inbox at once (arrival order) and sends its
   * receipts; the file of a media message is downloaded in the background
   * and filled in (`media`) once decrypted.
   */
  private record(message: WAMessage): void {
    if (message.key.fromMe || !message.key.id || !message.key.remoteJid) return;
    const described = describeContent(message.message);
    if (!described) return;
    const from = this.options.phoneOf(message.key.remoteJidAlt) ?? this.options.phoneOf(message.key.remoteJid) ?? '';
    const isNew = this.options.state.record({
      from,
      text: described.text,
      type: described.type,
      waMessageId: message.key.id,
      receivedAt: new Date().toISOString(),
      copies: 1,
      ...(described.quotedId ? { quotedId: described.quotedId } : {}),
      ...(described.reaction ? { reaction: described.reaction } : {}),
    });
    const media = isNew ? describeMedia(message.message) : null;
    if (media) this.track(this.download(message, message.key.id, media));
    this.scheduleReceipts(message.key.remoteJid, message.key.participant ?? undefined, message.key.id);
  }

  /** Downloads and decrypts the file of a media message (Baileys), then records its size and hash. */
  private async download(message: WAMessage, id: string, media: { mimetype: string | null; filename: string | null }): Promise<void> {
    try {
      const dispatcher = this.options.media?.dispatcher;
      const data = await downloadMediaMessage(message, 'buffer', dispatcher ? { options: { dispatcher } as RequestInit } : {});
      this.options.state.attachMedia(id, { ...media, size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
    } catch (error) {
      this.options.state.attachMediaError(id, error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  /** Keeps a download in the set close() waits for; a failure is reported, never left unhandled. */
  private track(download: Promise<void>): void {
    const tracked: Promise<void> = download
      .catch((error: unknown) => this.options.onBackgroundError?.(`media download of contact ${this.phone}`, error))
      .finally(() => this.downloads.delete(tracked));
    this.downloads.add(tracked);
  }

  /**
   * A reaction to a message this contact sent or received, or an edit / delete for everyone of
   * one it sent, as a phone sends them (Baileys builds the reaction or protocol message).
   */
  private changeContent(chatJid: string, change: ContactChange): AnyMessageContent {
    const key = { remoteJid: chatJid, id: change.waMessageId, fromMe: this.options.state.sent.has(change.waMessageId) };
    switch (change.kind) {
      case 'reaction':
        return { react: { text: change.emoji, key } };
      case 'edit':
        return { text: change.text, edit: { ...key, fromMe: true } };
      case 'revoke':
        return { delete: { ...key, fromMe: true } };
    }
  }

  /** The message `id` as Baileys quotes it: one this contact sent (its content) or received (its text). */
  private quotable(chatJid: string, id: string): WAMessage {
    const sent = this.options.state.sent.get(id);
    if (sent) return { key: { remoteJid: chatJid, id, fromMe: true }, message: sent };
    const received = this.options.state.find(id);
    return { key: { remoteJid: chatJid, id, fromMe: false }, message: { conversation: received?.text ?? '' } };
  }

  /** Delivery after `deliveryReceiptMs`, read `readReceiptMs` after that. */
  private scheduleReceipts(chatJid: string, participant: string | undefined, id: string): void {
    this.later(this.options.deliveryReceiptMs, async () => {
      await this.sock.sendReceipt(chatJid, participant, [id], undefined);
      this.later(this.options.readReceiptMs, () => this.sock.sendReceipt(chatJid, participant, [id], 'read'));
    });
  }

  private later(ms: number, task: () => Promise<void>): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.closed) return;
      task().catch((error: unknown) => this.options.onBackgroundError?.(`receipt of contact ${this.phone}`, error));
    }, ms);
    this.timers.add(timer);
  }
}
