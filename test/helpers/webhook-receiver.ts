import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  /** The parsed envelope. */
  json: { id: string; event: string; session: string | null; sequence: number; timestamp: string; data: Record<string, unknown> };
  receivedAt: number;
  /** The status answered (undefined while hanging). */
  status?: number;
}

/** How the receiver answers one request: a status (and optional body), or 'hang' (never answers). */
export type ReceiverAnswer = number | { status: number; body?: string; headers?: Record<string, string> } | 'hang';

/**
 * A real HTTP receiver on loopback for webhook tests (keep-alive like any
 * Node server). Records every request, answers what `respond` says (200 by
 * default); `answered` counts only requests that got a 2xx.
 */
export class WebhookReceiver {
  readonly requests: ReceivedWebhook[] = [];
  respond: (request: ReceivedWebhook, index: number) => ReceiverAnswer = () => 200;
  private server: Server | null = null;
  private readonly hanging: ServerResponse[] = [];
  private port = 0;

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    await receiver.listen(0);
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Requests that were answered with a 2xx. */
  delivered(): ReceivedWebhook[] {
    return this.requests.filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300);
  }

  /** Stops listening (connection refused from now on) but keeps the port for `resume`. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const res of this.hanging.splice(0)) res.destroy();
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** Listens again on the same port. */
  resume(): Promise<void> {
    return this.listen(this.port);
  }

  private listen(port: number): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: ReceivedWebhook['json'];
        try {
          json = JSON.parse(body) as ReceivedWebhook['json'];
        } catch {
          json = {} as ReceivedWebhook['json'];
        }
        const received: ReceivedWebhook = { headers: req.headers, body, json, receivedAt: Date.now() };
        const index = this.requests.push(received) - 1;
        const answer = this.respond(received, index);
        if (answer === 'hang') {
          this.hanging.push(res);
          return;
        }
        const { status, body: text = '', headers = {} } = typeof answer === 'number' ? { status: answer } : answer;
        received.status = status;
        res.writeHead(status, { 'content-type': 'text/plain', ...headers });
        res.end(text);
      });
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        this.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }
}
