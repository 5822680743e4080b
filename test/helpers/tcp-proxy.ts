import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL or Redis that a test can break:
 * `cut()` refuses new connections and resets the open ones (the service is
 * down), `stall()` keeps connections open but stops moving bytes (a network
 * partition), `restore()` brings it back on the same port.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<[Socket, Socket]>();
  private stalled = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await proxy.listen();
    return proxy;
  }

  private async listen(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      // While stalled, a new connection is accepted but moves no bytes either (restore() pipes it).
      if (this.stalled) this.pausePair(pair);
      else {
        client.pipe(upstream);
        upstream.pipe(client);
      }
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Refuses new connections and resets every open one. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const [a, b] of this.pairs) {
      a.resetAndDestroy();
      b.destroy();
    }
    this.pairs.clear();
    await closed;
  }

  /** Keeps every connection (and accepts new ones) but forwards nothing. */
  stall(): void {
    this.stalled = true;
    for (const pair of this.pairs) this.pausePair(pair);
  }

  private pausePair([a, b]: [Socket, Socket]): void {
    a.unpipe(b);
    b.unpipe(a);
    a.pause();
    b.pause();
  }

  /** Forwards again: listens on the same port after a cut, resumes after a stall. */
  async restore(): Promise<void> {
    if (this.stalled) {
      this.stalled = false;
      for (const [a, b] of this.pairs) {
        a.pipe(b);
        b.pipe(a);
      }
    }
    if (!this.server) await this.listen();
  }

  /** Number of connections currently proxied. */
  get connections(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    await this.cut();
  }
}
