import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WA_CERT_DETAILS, type BinaryNode, type proto } from '@whiskeysockets/baileys';
import { WebSocketServer, type WebSocket } from 'ws';
import { ConflictError, NotFoundError, ValidationError } from '../../../common/errors/domain-errors';
import { agentsTrusting, type AgentsTrusting } from '../../../common/tls/agents-trusting';
import { AccountRegistry, type Account, type Device } from './account-registry';
import { decodeJid, unixNow } from './binary-node';
import { CompanionPairing, type LinkedDevice } from './companion-pairing';
import { ContactDirectory } from './contact-directory';
import type { ContactState } from './contact-state';
import { handleControlRequest } from './control-api';
import { FakeContact } from './fake-contact';
import { FaultsValidationError, validateFaults, type SandboxFaults } from './faults';
import { InboundContentError, parseInboundContent, type ContactOutgoing } from './inbound-content';
import { SandboxMediaServer } from './media-server';
import { NetworkCounters, type NetworkContext, type NetworkSettings } from './network-context';
import { normalizePhone, phoneForSession } from './phone-number';
import { parseQr, QrParseError } from './qr-code';
import { SandboxConnection, type ConnectionHandler, type ConnectionTags } from './sandbox-connection';
import {
  DISCONNECT_CODES,
  type ContactMessage,
  type ContactPresence,
  type ContactReadReceipt,
  type DisconnectCode,
  type InboundMessageInput,
  type PairingResult,
  type SandboxLogger,
  type SandboxNetworkOptions,
  type SandboxSessionState,
  type SandboxStats,
} from './sandbox-network.types';
import { StanzaHandler } from './stanza-handler';
import { createTestPki, type TestPki } from './test-pki';

/** What the network knows about one ZapHub session (by the `?session=` of its sockets). */
interface SessionEntry {
  connection: SandboxConnection | null;
  /** Account phone once paired / logged in. */
  phone: string | null;
  deviceId: number | null;
}

const WS_PATH = '/ws/chat';
const SILENT: SandboxLogger = { log: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * A fake WhatsApp Web network that speaks the real protocol to the real
 * Baileys client, offline: test PKI, Noise handshake, QR and pairing-code
 * linking, login, Signal key distribution, message and receipt relay between
 * devices, fake contacts (real Baileys sockets) for every other phone number,
 * server-driven disconnects, fault injection, and WhatsApp's media servers
 * (HTTPS with a test CA, see SandboxMediaServer).
 *
 * Clients must trust the sandbox's root: the process running a client sets
 * `WA_CERT_DETAILS.PUBLIC_KEY = network.rootPublicKey` (the network sets it
 * for its own contacts, which run in this process). To send or receive media
 * they must also trust `mediaCaPem` (Baileys' `fetchAgent` and
 * `options.dispatcher`; the contacts do).
 */
export class SandboxNetwork {
  readonly rootPublicKey: Buffer;

  private readonly pki: TestPki;
  private readonly logger: SandboxLogger;
  private readonly registry = new AccountRegistry();
  private readonly counters = new NetworkCounters();
  private readonly connections = new Set<SandboxConnection>();
  private readonly sessions = new Map<string, SessionEntry>();
  private readonly contacts: ContactDirectory<FakeContact>;
  private readonly stanzas: StanzaHandler;
  private readonly pairing: CompanionPairing;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly connectionHandler: ConnectionHandler;
  private readonly media: SandboxMediaServer;
  /** The agents the contacts reach the media server with (set while started). */
  private mediaAgents: AgentsTrusting | null = null;
  private activeFaults: SandboxFaults = {};
  private server: Server | null = null;
  private wss: WebSocketServer | null = null;
  private listeningPort = 0;
  private nextConnectionId = 1;
  private state: 'new' | 'starting' | 'started' | 'closing' | 'closed' = 'new';

  constructor(private readonly options: SandboxNetworkOptions = {}) {
    this.logger = options.logger ?? SILENT;
    this.pki = createTestPki(options.rootKeyPair);
    this.media = new SandboxMediaServer({
      host: options.host,
      maxBytes: options.maxMediaBytes,
      onRefused: (message) => this.logger.warn(`sandbox: ${message}`),
    });
    this.rootPublicKey = this.pki.rootPublicKey;
    const settings: NetworkSettings = {
      qrRefCount: Math.max(1, options.qrRefCount ?? 6),
      requireAdvRotation: options.requireAdvRotation ?? false,
      fastPreKeys: options.fastPreKeys ?? false,
    };
    const context: NetworkContext = {
      registry: this.registry,
      counters: this.counters,
      settings,
      logger: this.logger,
      faults: () => this.activeFaults,
      random: options.random ?? Math.random,
      ensureReachable: (account) => this.ensureReachable(account),
      wakeContact: (account) => this.wakeContact(account),
      chatState: (from, to, state) => {
        if (to.kind !== 'session') this.contacts.recordPresence(to.phone, { from: from.phone, state, at: new Date().toISOString() });
      },
      readReceipt: (from, to, ids) => {
        if (to.kind === 'session') return;
        const at = new Date().toISOString();
        for (const waMessageId of ids) this.contacts.recordRead(to.phone, { from: from.phone, waMessageId, at });
      },
      backgroundFailed: (what, error) => this.backgroundFailed(what, error),
      mediaConn: () => (this.mediaAgents ? this.media.mediaConn : null),
    };
    this.stanzas = new StanzaHandler(context);
    this.pairing = new CompanionPairing(context);
    this.contacts = new ContactDirectory<FakeContact>((phone, state, onClosed) => this.startContact(phone, state, onClosed), {
      maxLiveContacts: options.maxLiveContacts,
      maxKnownContacts: options.maxKnownContacts,
      maxMessagesPerContact: options.maxMessagesPerContact,
      // Its keys are gone: relaying to the old device would hand messages to no one; a new contact registers fresh keys.
      onForgotten: (phone) => {
        const account = this.registry.get(phone);
        if (account?.kind === 'contact') account.forgetDevice(0);
      },
      onBackgroundError: (what, error) => this.backgroundFailed(what, error),
    });
    this.connectionHandler = {
      onHandshake: (connection, payload) => this.onHandshake(connection, payload),
      onNode: (connection, node) => this.onNode(connection, node),
      onClose: (connection) => this.onClose(connection),
      onError: (connection, error) => this.logger.warn(`sandbox: ${connection.label}: ${errorMessage(error)}`),
    };
  }

  // ---- lifecycle ------------------------------------------------------------

  /** Listens on `host:port` (127.0.0.1 and a free port by default), and starts the media server on a free port of the same host. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`sandbox network cannot start from state ${this.state}`);
    this.state = 'starting';
    await this.media.start();
    this.mediaAgents = agentsTrusting(this.media.caPem);
    const server = createServer((req, res) => this.onHttpRequest(req, res));
    const wss = new WebSocketServer({ noServer: true, maxPayload: 32 * 1024 * 1024 });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      // The port is taken (say): leave nothing running behind.
      await this.closeMedia();
      this.state = 'closed';
      throw error;
    }
    this.server = server;
    this.wss = wss;
    this.listeningPort = (server.address() as AddressInfo).port;
    this.state = 'started';
  }

  /** Closes every connection, contact and timer, then the listener. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.state = 'closing';
    await this.contacts.closeAll();
    for (const connection of [...this.connections]) connection.terminate();
    this.pairing.dispose();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.wss?.close();
    const server = this.server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    // After the contacts: their media downloads have finished.
    await this.closeMedia();
    this.state = 'closed';
  }

  private async closeMedia(): Promise<void> {
    const agents = this.mediaAgents;
    this.mediaAgents = null;
    await agents?.close().catch((error: unknown) => this.backgroundFailed('closing the media agents', error));
    await this.media.close();
  }

  get port(): number {
    return this.listeningPort;
  }

  /** The URL for Baileys' `waWebSocketUrl` (prefer `urlForSession`). */
  get wsUrl(): string {
    return `ws://${this.hostForUrls}:${this.listeningPort}${WS_PATH}`;
  }

  /** Base URL of the HTTP control API (when enabled). */
  get httpUrl(): string {
    return `http://${this.hostForUrls}:${this.listeningPort}`;
  }

  /**
   * PEM of the test CA of the media server (available once started; new at
   * every start). A client trusts it only in sandbox mode, to upload and
   * download media: ZapHub's engine gets it as `sandbox.mediaCaPem`.
   */
  get mediaCaPem(): string {
    return this.media.caPem;
  }

  /** `host:port` of the media server (what `media_conn` answers). */
  get mediaHost(): string {
    return this.media.hostname;
  }

  /** `wsUrl?session=<name>`: tells the network which ZapHub session a socket belongs to. */
  urlForSession(sessionName: string): string {
    return `${this.wsUrl}?session=${encodeURIComponent(sessionName)}`;
  }

  // ---- sessions ---------------------------------------------------------------

  sessionState(sessionName: string): SandboxSessionState {
    const entry = this.sessions.get(sessionName);
    if (!entry) return 'unknown';
    const connection = entry.connection;
    if (!connection?.isOpen) return 'offline';
    return connection.loggedIn ? 'online' : this.pairing.isPairing(connection) ? 'awaiting-pairing' : 'offline';
  }

  /**
   * Open WebSocket connections of one session (tagged with its name), whatever
   * their state: the way tests check that exactly one worker connects it.
   */
  sessionConnections(sessionName: string): number {
    let count = 0;
    for (const connection of this.connections) if (connection.tags.session === sessionName && connection.isOpen) count++;
    return count;
  }

  /**
   * Whether the device the session linked is still linked at the fake
   * WhatsApp (false once it logged out: remove-companion-device, or a 401);
   * null when the session never paired.
   */
  sessionDeviceLinked(sessionName: string): boolean | null {
    const entry = this.sessions.get(sessionName);
    if (!entry?.phone || entry.deviceId === null) return null;
    const account = this.registry.get(entry.phone);
    return account ? !account.isRemoved(entry.deviceId) : null;
  }

  /** Phone number of the account the session is linked to, or null before it paired. */
  sessionPhone(sessionName: string): string | null {
    return this.sessions.get(sessionName)?.phone ?? null;
  }

  /**
   * A fake phone scans `qr` (the string Baileys emitted for this session) and
   * links the session to `phone` (default: a deterministic number per session).
   * Resolves once the companion confirmed (`pair-device-sign`); it then
   * reconnects by itself (515) and logs in. Throws NotFoundError for an
   * unknown session, ValidationError for a malformed QR, ConflictError when
   * the session is not waiting for a QR or the QR is not valid for it.
   */
  async scan(sessionName: string, qr: string, options: { phone?: string } = {}): Promise<PairingResult> {
    const parsed = parseQrOrThrow(qr);
    const connection = this.pairingConnection(sessionName);
    const phone = options.phone === undefined ? this.defaultPhone(sessionName) : normalizePhone(options.phone);
    if (!phone) throw new ValidationError('phone must be 5-20 digits, optionally with a leading +', [{ field: 'phone', message: 'invalid phone number' }]);
    return this.linked(sessionName, await this.pairing.scan(connection, parsed, phone));
  }

  /**
   * Sends `<notification type="companion_reg_refresh">` to a session waiting
   * for a QR and retires the adv secret of `shownQr` (the QR it showed until
   * now): afterwards only a QR with another adv secret is accepted.
   */
  requestAdvRotation(sessionName: string, shownQr: string): void {
    this.pairing.requestAdvRotation(this.pairingConnection(sessionName), parseQrOrThrow(shownQr));
  }

  /** The phone's user enters the pairing code the session requested (Baileys `requestPairingCode`). */
  async enterPairingCode(sessionName: string, code: string): Promise<PairingResult> {
    return this.linked(sessionName, await this.pairing.enterPairingCode(this.pairingConnection(sessionName), code));
  }

  /**
   * The fake contact `fromPhone` sends the session's account a message (real
   * Signal encryption): `text`, or an InboundMessageInput (text, media, which
   * is encrypted and uploaded to the media server first, location; optionally
   * a reply). Returns the WhatsApp message id. A session that is paired but
   * offline gets it on its next login, like on WhatsApp. Throws
   * ValidationError naming each bad field.
   */
  async inbound(sessionName: string, fromPhone: string, message: string | InboundMessageInput): Promise<string> {
    // A malformed message is a 400 whatever the state of the session.
    const outgoing = parseOutgoingOrThrow(typeof message === 'string' ? { text: message } : message);
    const entry = this.sessions.get(sessionName);
    if (!entry) throw new NotFoundError(`Session "${sessionName}" is unknown to the sandbox (it never connected)`);
    if (!entry.phone) throw new ConflictError(`Session "${sessionName}" is not linked to a WhatsApp account yet (scan its QR first)`);
    const from = normalizePhone(fromPhone);
    if (!from) throw new ValidationError('from must be 5-20 digits, optionally with a leading +', [{ field: 'from', message: 'invalid phone number' }]);
    if (from === entry.phone) throw new ValidationError('from is the session\'s own number', [{ field: 'from', message: 'must differ from the session number' }]);
    const contact = await this.contacts.ensure(from);
    return contact.send(entry.phone, outgoing);
  }

  /**
   * Members of a group report receipts for messages the session sent there: WhatsApp tells the
   * sender with one `<receipt from="<group>" participant="<member>">` per member and status, which
   * the real Baileys client turns into `message-receipt.update`. (The sandbox has no groups
   * otherwise: sending to one is not supported yet, so the messages are ones a test stored.)
   */
  groupReceipt(sessionName: string, r: { group: string; participant: string; waMessageIds: string[]; type: 'delivery' | 'read' }): void {
    const entry = this.sessions.get(sessionName);
    const connection = entry?.connection;
    if (!connection?.isOpen) throw new ConflictError(`Session "${sessionName}" is not connected`);
    const member = normalizePhone(r.participant);
    const [first, ...more] = r.waMessageIds;
    if (!r.group.endsWith('@g.us') || !member || !first) {
      throw new ValidationError('a group JID, a member phone and at least one message id are needed', [{ field: 'group', message: 'invalid group receipt' }]);
    }
    connection.send({
      tag: 'receipt',
      attrs: { from: r.group, participant: `${member}@s.whatsapp.net`, id: first, t: unixNow(), ...(r.type === 'read' ? { type: 'read' } : {}) },
      ...(more.length ? { content: [{ tag: 'list', attrs: {}, content: more.map((id) => ({ tag: 'item', attrs: { id } })) }] } : {}),
    });
  }

  /** The chat states the contact `phone` saw (a session typing to it), oldest first. */
  contactPresences(phone: string): ContactPresence[] {
    const normalized = normalizePhone(phone);
    if (!normalized) throw new ValidationError('phone must be 5-20 digits, optionally with a leading +', [{ field: 'phone', message: 'invalid phone number' }]);
    return this.contacts.presences(normalized);
  }

  /** The read receipts sessions sent the contact `phone` for its messages, oldest first. */
  contactReads(phone: string): ContactReadReceipt[] {
    const normalized = normalizePhone(phone);
    if (!normalized) throw new ValidationError('phone must be 5-20 digits, optionally with a leading +', [{ field: 'phone', message: 'invalid phone number' }]);
    return this.contacts.reads(normalized);
  }

  /** What the contact `phone` received, in arrival order (`[]` for a number that received nothing). */
  contactMessages(phone: string): ContactMessage[] {
    const normalized = normalizePhone(phone);
    if (!normalized) throw new ValidationError('phone must be 5-20 digits, optionally with a leading +', [{ field: 'phone', message: 'invalid phone number' }]);
    return this.contacts.messages(normalized);
  }

  /**
   * Drops the session's live socket the way WhatsApp does for `code`:
   * 401 `<failure reason="401">` and the device is unlinked (logged out);
   * 428 the server closes the socket; 440 `stream:error` conflict (replaced);
   * 515 `stream:error code=515` (restart required). Resolves when the socket closed.
   */
  async disconnect(sessionName: string, code: DisconnectCode): Promise<void> {
    if (!DISCONNECT_CODES.includes(code)) {
      throw new ValidationError(`code must be one of ${DISCONNECT_CODES.join(', ')}`, [{ field: 'code', message: 'unsupported disconnect code' }]);
    }
    const entry = this.sessions.get(sessionName);
    if (!entry) throw new NotFoundError(`Session "${sessionName}" is unknown to the sandbox (it never connected)`);
    const connection = entry.connection;
    if (!connection?.isOpen) throw new ConflictError(`Session "${sessionName}" is not connected`);
    switch (code) {
      case 401:
        connection.send({ tag: 'failure', attrs: { reason: '401', location: 'sandbox' } });
        if (connection.account) connection.account.remove(connection.deviceId);
        break;
      case 428:
        connection.close();
        break;
      case 440:
        connection.send(conflictStreamError());
        break;
      case 515:
        connection.send({ tag: 'stream:error', attrs: { code: '515' } });
        break;
    }
    await this.closeWithin(connection, (this.activeFaults.latencyMs ?? 0) + 3000);
  }

  // ---- faults and stats -----------------------------------------------------------

  /** Replaces the active faults (`{}` clears them); returns them normalized. Throws ValidationError. */
  setFaults(input: unknown): SandboxFaults {
    try {
      const { mediaDownloadFailures, ...faults } = validateFaults(input);
      this.activeFaults = faults;
      // A countdown the media server keeps (shown by `faults` while some are left).
      this.media.failNextDownloads(mediaDownloadFailures ?? 0);
    } catch (error) {
      if (error instanceof FaultsValidationError) throw new ValidationError(error.message, error.problems);
      throw error;
    }
    if (Object.keys(this.faults).length) this.logger.warn(`sandbox: faults active ${JSON.stringify(this.faults)}`);
    return this.faults;
  }

  get faults(): SandboxFaults {
    const failures = this.media.downloadFailuresLeft;
    return { ...this.activeFaults, ...(failures ? { mediaDownloadFailures: failures } : {}) };
  }

  stats(): SandboxStats {
    let onlineSessions = 0;
    for (const entry of this.sessions.values()) if (entry.connection?.isOpen && entry.connection.loggedIn) onlineSessions++;
    return {
      connections: this.connections.size,
      onlineSessions,
      accounts: this.registry.size,
      contacts: this.contacts.size,
      knownContacts: this.contacts.knownCount,
      evictedContacts: this.contacts.evictions,
      acceptedMessages: this.counters.acceptedMessages,
      relayedMessages: this.counters.relayedMessages,
      droppedMessages: this.counters.droppedMessages,
      droppedMessageIds: this.counters.droppedMessageIds,
      relayedReceipts: this.counters.relayedReceipts,
      queuedOffline: this.counters.queuedOffline,
      redeliveredUnreceipted: this.counters.redeliveredUnreceipted,
      refusedConnections: this.counters.refusedConnections,
      backgroundFailures: this.counters.backgroundFailures,
      media: this.media.stats,
      faults: this.faults,
    };
  }

  // ---- connections ----------------------------------------------------------------

  private get hostForUrls(): string {
    const host = this.options.host ?? '127.0.0.1';
    return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const reject = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    if (url.pathname !== WS_PATH) return reject('404 Not Found');
    if (this.state !== 'started' || !this.wss) return reject('503 Service Unavailable');
    const tags: ConnectionTags = {
      session: url.searchParams.get('session') || undefined,
      contact: url.searchParams.get('contact') || undefined,
    };
    // The fault models the sessions' link to WhatsApp; the sandbox's own contacts still get through.
    // The TCP connection is reset rather than answered with an HTTP error: Baileys listens for ws's
    // 'unexpected-response', which stops ws from failing the handshake, so an HTTP 503 would only
    // surface at the client's connect timeout. A reset fails at once (Baileys maps it to 408).
    if (this.activeFaults.refuseConnections && !tags.contact) {
      this.counters.refusedConnections++;
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const connection = new SandboxConnection(this.nextConnectionId++, ws, this.pki, tags, this.connectionHandler, () => this.activeFaults.latencyMs ?? 0);
      this.connections.add(connection);
    });
  }

  private onHandshake(connection: SandboxConnection, payload: proto.ClientPayload): void {
    if (payload.devicePairingData) {
      // A new companion: it shows QR codes (or asks for a pairing code) until a phone links it.
      if (connection.tags.session) this.sessions.set(connection.tags.session, { connection, phone: null, deviceId: null });
      this.pairing.begin(connection, payload);
      return;
    }
    this.login(connection, String(payload.username ?? ''), payload.device ?? 0);
  }

  /** A registered device logs in: `<success>`, then what queued while it was offline. */
  private login(connection: SandboxConnection, user: string, deviceId: number): void {
    const account = /^\d{5,20}$/.test(user) ? this.registry.ensure(user) : undefined;
    if (!account || account.isRemoved(deviceId)) {
      // Unknown number or an unlinked device: logged out.
      connection.send({ tag: 'failure', attrs: { reason: '401', location: 'sandbox' } });
      this.background(`closing ${connection.label} after a refused login`, this.closeWithin(connection, 3000));
      return;
    }
    const device = account.device(deviceId);
    const previous = device.connection;
    if (previous && previous !== connection && previous.isOpen) {
      // One socket per device: the older one is replaced, as on WhatsApp.
      previous.send(conflictStreamError());
      this.background(`closing the replaced ${previous.label}`, this.closeWithin(previous, 3000));
    }
    device.connection = connection;
    connection.account = account;
    connection.deviceId = deviceId;
    if (connection.tags.contact) {
      account.kind ??= 'contact';
    } else {
      account.kind = 'session';
      this.sessions.set(connection.tags.session ?? user, { connection, phone: account.phone, deviceId });
    }
    const t = unixNow();
    connection.send({ tag: 'success', attrs: { t, props: '0', lid: account.lidJid, location: 'sandbox', creation: t } });
    const offline = device.takeOffline();
    for (const stanza of offline) {
      connection.send(stanza);
      device.delivered(connection, stanza);
    }
    // Tells Baileys the offline backlog is done (it flushes its event buffer on this).
    connection.send({ tag: 'ib', attrs: {}, content: [{ tag: 'offline', attrs: { count: String(offline.length) } }] });
  }

  private async onNode(connection: SandboxConnection, node: BinaryNode): Promise<void> {
    if (connection.account) await this.stanzas.handle(connection, connection.account, node);
    else await this.pairing.handleNode(connection, node);
  }

  private onClose(connection: SandboxConnection): void {
    this.connections.delete(connection);
    this.pairing.connectionClosed(connection);
    const device = connection.account?.devices.get(connection.deviceId);
    if (device) this.requeueUnreceipted(device, connection);
    if (device?.connection === connection) device.connection = null;
    for (const entry of this.sessions.values()) if (entry.connection === connection) entry.connection = null;
  }

  /**
   * What `connection` was sent and never receipted is owed to the device again:
   * at its next login, or now when a newer connection already replaced this one.
   */
  private requeueUnreceipted(device: Device, connection: SandboxConnection): void {
    const requeued = device.connectionClosed(connection);
    if (requeued === 0) return;
    this.counters.redeliveredUnreceipted += requeued;
    const current = device.connection;
    if (current && current !== connection && current.isOpen) {
      for (const stanza of device.takeOffline()) {
        current.send(stanza);
        device.delivered(current, stanza);
      }
    }
  }

  /** Waits for the client to close; terminates the socket after `graceMs`. */
  private async closeWithin(connection: SandboxConnection, graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
      this.timers.add(timer);
    });
    await Promise.race([connection.whenClosed(), timeout]);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(timer);
    }
    if (connection.isOpen) connection.close();
    await Promise.race([connection.whenClosed(), new Promise<void>((resolve) => setImmediate(resolve))]);
    if (connection.isOpen) connection.terminate();
  }

  private pairingConnection(sessionName: string): SandboxConnection {
    const entry = this.sessions.get(sessionName);
    if (!entry) throw new NotFoundError(`Session "${sessionName}" is unknown to the sandbox (it never connected)`);
    const connection = entry.connection;
    if (!connection?.isOpen) throw new ConflictError(`Session "${sessionName}" is not connected`);
    if (!this.pairing.isPairing(connection)) throw new ConflictError(`Session "${sessionName}" is not waiting for a QR scan or pairing code`);
    return connection;
  }

  private linked(sessionName: string, linked: LinkedDevice): PairingResult {
    const entry = this.sessions.get(sessionName);
    if (entry) {
      entry.phone = linked.account.phone;
      entry.deviceId = linked.deviceId;
    }
    return {
      session: sessionName,
      phone: linked.account.phone,
      jid: `${linked.account.phone}:${linked.deviceId}@s.whatsapp.net`,
      lid: `${linked.account.lid}:${linked.deviceId}@lid`,
    };
  }

  /** Deterministic per session name; skips numbers another session already uses. */
  private defaultPhone(sessionName: string): string {
    const taken = new Set<string>();
    for (const [name, entry] of this.sessions) if (name !== sessionName && entry.phone) taken.add(entry.phone);
    for (let attempt = 0; ; attempt++) {
      const phone = phoneForSession(sessionName, attempt);
      if (!taken.has(phone)) return phone;
    }
  }

  // ---- contacts ---------------------------------------------------------------------

  private async ensureReachable(account: Account): Promise<void> {
    if (account.kind === 'session' || this.state !== 'started') return;
    if (account.keyedDeviceIds.length && this.contacts.isLive(account.phone)) {
      this.contacts.touch(account.phone);
      return;
    }
    // A number nobody answers for yet, or a contact that is not connected (evicted, or dropped by a fault).
    await this.contacts.ensure(account.phone);
  }

  private wakeContact(account: Account): void {
    if (account.kind !== 'contact' || this.state !== 'started') return;
    if (this.contacts.isLive(account.phone)) {
      this.contacts.touch(account.phone);
      return;
    }
    // The message is queued for its device; the contact gets it when it has logged in again.
    this.background(`restarting contact ${account.phone}`, this.contacts.ensure(account.phone));
  }

  /** Lets `task` run without its caller waiting; a failure is logged and counted (stats().backgroundFailures). */
  private background(what: string, task: Promise<unknown>): void {
    task.catch((error: unknown) => this.backgroundFailed(what, error));
  }

  private backgroundFailed(what: string, error: unknown): void {
    this.counters.backgroundFailures++;
    this.logger.error(`sandbox: ${what} failed: ${errorMessage(error)}`);
  }

  private startContact(phone: string, state: ContactState, onClosed: (contact: FakeContact) => void): Promise<FakeContact> {
    // The contacts are Baileys clients of this network living in this process: they must trust its root.
    if (!Buffer.from(WA_CERT_DETAILS.PUBLIC_KEY).equals(this.rootPublicKey)) {
      WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(this.rootPublicKey);
    }
    return FakeContact.connect({
      phone,
      url: `${this.wsUrl}?contact=${phone}`,
      state,
      deliveryReceiptMs: this.options.deliveryReceiptMs ?? 100,
      readReceiptMs: this.options.readReceiptMs ?? 300,
      timeoutMs: this.options.contactTimeoutMs ?? 20_000,
      phoneOf: (jid) => this.phoneOf(jid),
      onClosed,
      onBackgroundError: (what, error) => this.backgroundFailed(what, error),
      ...(this.mediaAgents ? { media: this.mediaAgents } : {}),
    });
  }

  private phoneOf(jid: string | null | undefined): string | null {
    const decoded = decodeJid(jid ?? undefined);
    if (!decoded) return null;
    return decoded.server === 'lid' ? (this.registry.resolve(decoded.user, 'lid')?.phone ?? null) : decoded.user;
  }

  // ---- HTTP ---------------------------------------------------------------------------

  private onHttpRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.options.controlApi && req.url?.startsWith('/control/')) {
      this.background(`control request ${req.method} ${req.url}`, handleControlRequest(this, req, res));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 404, error: 'Not Found', message: 'Not found' }));
  }
}

function conflictStreamError(): BinaryNode {
  return { tag: 'stream:error', attrs: {}, content: [{ tag: 'conflict', attrs: { type: 'replaced' } }] };
}

function parseOutgoingOrThrow(input: InboundMessageInput): ContactOutgoing {
  try {
    return parseInboundContent(input);
  } catch (error) {
    if (error instanceof InboundContentError) throw new ValidationError(error.message, error.problems);
    throw error;
  }
}

function parseQrOrThrow(qr: string) {
  try {
    return parseQr(qr);
  } catch (error) {
    if (error instanceof QrParseError) throw new ValidationError(`Invalid QR: ${error.message}`, [{ field: 'qr', message: error.message }]);
    throw error;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
