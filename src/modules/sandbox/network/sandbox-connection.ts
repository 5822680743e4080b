import { decodeBinaryNode, encodeBinaryNode, proto, type BinaryNode } from '@whiskeysockets/baileys';
import WebSocket from 'ws';
import type { Account } from './account-registry';
import { encodeFrame, FrameDecoder } from './frame-codec';
import { NoiseResponder } from './noise-responder';
import type { TestPki } from './test-pki';

/** What the network does with a connection's traffic (the connection itself only speaks the transport). */
export interface ConnectionHandler {
  /** The Noise handshake finished: `payload` is a login (username/device) or a registration (devicePairingData). */
  onHandshake(connection: SandboxConnection, payload: proto.ClientPayload): void;
  /** A decrypted stanza; called one at a time, in arrival order, per connection. */
  onNode(connection: SandboxConnection, node: BinaryNode): Promise<void>;
  onClose(connection: SandboxConnection): void;
  /** A protocol error that ends the connection (bad intro, failed decryption). */
  onError(connection: SandboxConnection, error: unknown): void;
}

/** How a client identified itself in the WebSocket URL query. */
export interface ConnectionTags {
  /** `?session=<name>`: the ZapHub session this socket belongs to. */
  session?: string;
  /** `?contact=<phone>`: one of the sandbox's own fake contacts. */
  contact?: string;
}

/** The decoder strips the intro, so the first frame is the client hello. */
type Stage = 'hello' | 'finish' | 'open' | 'closed';

/**
 * One client WebSocket: WhatsApp framing, the Noise handshake, transport
 * encryption, and an ordered send queue that can add latency. Per-connection
 * state stays small (no timers while idle) so hundreds fit in one process.
 */
export class SandboxConnection {
  /** Set by the network after a successful login. */
  account: Account | null = null;
  deviceId = 0;
  /** The client's static Noise key (a QR must carry the same key). */
  clientStaticKey: Buffer | null = null;

  private stage: Stage = 'hello';
  private readonly decoder = new FrameDecoder();
  private noise: NoiseResponder | null = null;
  private inbound: Promise<void> = Promise.resolve();
  /** Frames waiting for their latency to pass, in send order (null while empty). */
  private outbound: Array<{ due: number; bytes: Buffer }> | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private closeWhenFlushed: { code: number } | null = null;
  private readonly closeWaiters: Array<() => void> = [];

  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    private readonly pki: TestPki,
    readonly tags: ConnectionTags,
    private readonly handler: ConnectionHandler,
    /** Current latency fault, read for every frame. */
    private readonly latencyMs: () => number,
  ) {
    ws.on('message', (data: Buffer) => this.receive(data));
    ws.on('close', () => this.closed());
    ws.on('error', () => this.closed());
  }

  get isOpen(): boolean {
    return this.stage !== 'closed' && this.ws.readyState === WebSocket.OPEN;
  }

  get loggedIn(): boolean {
    return this.account !== null;
  }

  /** `phone:device` once logged in, for logs. */
  get label(): string {
    return this.account ? `${this.account.phone}:${this.deviceId}` : `conn#${this.id}`;
  }

  /** Encrypts `node` now (frame counters must follow send order) and queues it. */
  send(node: BinaryNode): void {
    if (!this.noise?.established || this.stage === 'closed') return;
    this.queue(encodeFrame(this.noise.encrypt(encodeBinaryNode(node))));
  }

  /** Closes once every queued frame went out (so a final stream:error is not lost). */
  close(code = 1000): void {
    if (this.stage === 'closed') return;
    if (this.outbound) this.closeWhenFlushed = { code };
    else this.ws.close(code);
  }

  /** Drops the socket at once, without a close handshake. */
  terminate(): void {
    this.clearQueue();
    this.ws.terminate();
    this.closed();
  }

  /** Resolves when the socket has closed (at once if it already has). */
  whenClosed(): Promise<void> {
    if (this.stage === 'closed') return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  private receive(data: Buffer): void {
    if (this.stage === 'closed') return;
    try {
      for (const frame of this.decoder.push(data)) this.handleFrame(frame);
    } catch (error) {
      this.handler.onError(this, error);
      this.terminate();
    }
  }

  private handleFrame(frame: Buffer): void {
    switch (this.stage) {
      case 'hello': {
        this.noise = new NoiseResponder(this.pki, this.decoder.header ?? Buffer.alloc(0));
        const hello = proto.HandshakeMessage.decode(frame).clientHello;
        if (!hello?.ephemeral) throw new Error('first frame is not a client hello');
        this.queue(encodeFrame(this.noise.respondToHello(hello.ephemeral)));
        this.stage = 'finish';
        return;
      }
      case 'finish': {
        const finish = proto.HandshakeMessage.decode(frame).clientFinish;
        if (!finish || !this.noise) throw new Error('second frame is not a client finish');
        const { clientStaticKey, payload } = this.noise.finish(finish);
        this.clientStaticKey = clientStaticKey;
        this.stage = 'open';
        this.handler.onHandshake(this, payload);
        return;
      }
      case 'open': {
        // Decrypt synchronously (the counter follows arrival order); decode and handle one by one.
        const plaintext = this.noise!.decrypt(frame);
        this.inbound = this.inbound
          .then(async () => {
            if (this.stage !== 'open') return;
            await this.handler.onNode(this, await decodeBinaryNode(plaintext));
          })
          .catch((error: unknown) => this.handler.onError(this, error));
        return;
      }
      case 'closed':
        return;
    }
  }

  private queue(bytes: Buffer): void {
    const latency = this.latencyMs();
    if (latency <= 0 && !this.outbound) {
      this.ws.send(bytes);
      return;
    }
    const now = Date.now();
    this.outbound ??= [];
    const last = this.outbound[this.outbound.length - 1];
    // Never let a frame overtake an earlier one when the latency fault changes.
    this.outbound.push({ due: Math.max(now + latency, last?.due ?? 0), bytes });
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer || !this.outbound?.length) return;
    const wait = Math.max(0, this.outbound[0]!.due - Date.now());
    this.flushTimer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    this.flushTimer = null;
    const now = Date.now();
    while (this.outbound?.length && this.outbound[0]!.due <= now) {
      const { bytes } = this.outbound.shift()!;
      if (this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes);
    }
    if (this.outbound?.length) {
      this.scheduleFlush();
      return;
    }
    this.outbound = null;
    if (this.closeWhenFlushed) this.ws.close(this.closeWhenFlushed.code);
  }

  private clearQueue(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.outbound = null;
  }

  private closed(): void {
    if (this.stage === 'closed') return;
    this.stage = 'closed';
    this.clearQueue();
    this.handler.onClose(this);
    for (const resolve of this.closeWaiters.splice(0)) resolve();
  }
}
