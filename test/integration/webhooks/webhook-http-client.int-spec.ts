import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { LookupAddress } from 'node:dns';
import type { AddressInfo, Socket } from 'node:net';
import { RESPONSE_BODY_LIMIT, WebhookHttpClient, type WebhookResponse } from '../../../src/modules/webhooks/deliveries/webhook-http-client';
import { ADDRESS_REFUSED_CODE, OutboundUrlGuard, type LookupAll } from '../../../src/infra/outbound-url/outbound-url-guard';
import { waitFor } from '../../helpers/test-env';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** The client side of the TCP connection the request came on. */
  remotePort: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse, received: Received) => void;

/** A real HTTP server on loopback that records requests and TCP connections; `handler` answers (200 "ok" by default). */
class TestServer {
  readonly requests: Received[] = [];
  connections = 0;
  handler: Handler = (_req, res) => res.end('ok');
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<TestServer> {
    const server = createServer();
    const test = new TestServer(server);
    server.on('connection', (socket: Socket) => {
      test.connections++;
      test.sockets.add(socket);
      socket.on('close', () => test.sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const received: Received = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          remotePort: req.socket.remotePort ?? 0,
        };
        test.requests.push(received);
        test.handler(req, res, received);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return test;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A fake resolver: `rebind.test` resolves to whatever `answers` holds for it (and in order, one answer per call). */
function fakeDns(answers: string[][]) {
  const calls: string[] = [];
  const lookupAll: LookupAll = (hostname, _options, callback) => {
    calls.push(hostname);
    const answer = hostname === 'rebind.test' ? (answers.length > 1 ? answers.shift()! : answers[0]!) : null;
    setImmediate(() => {
      if (!answer) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
      callback(null, answer.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 })));
    });
  };
  return { lookupAll, calls };
}

const post = (client: WebhookHttpClient, url: string, body = '{"hello":"world"}', timeoutMs = 2000): Promise<WebhookResponse> =>
  client.post({ url, body, timeoutMs, headers: { 'content-type': 'application/json', 'x-test': 'yes' } });

/**
 * The HTTP client of webhook deliveries against a real loopback server, with
 * the real SSRF guard's connect-time lookup (only DNS is faked, to make a name
 * point to loopback).
 */
describe('WebhookHttpClient (real loopback HTTP)', () => {
  const servers: TestServer[] = [];
  const clients: WebhookHttpClient[] = [];
  const server = async () => {
    const s = await TestServer.start();
    servers.push(s);
    return s;
  };
  const client = (guard: OutboundUrlGuard) => {
    const c = new WebhookHttpClient(guard.lookup);
    clients.push(c);
    return c;
  };
  const openGuard = new OutboundUrlGuard({ allowPrivate: true });

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of servers) await s.close();
  });

  describe('connect-time SSRF check (DNS rebinding)', () => {
    it('refuses a name that resolves to loopback with ERR_ZAPHUB_ADDRESS_REFUSED; nothing reaches the server', async () => {
      const target = await server();
      const dns = fakeDns([['127.0.0.1']]);
      const guarded = client(new OutboundUrlGuard({ allowPrivate: false, lookupAll: dns.lookupAll }));

      const res = await post(guarded, `http://rebind.test:${target.port}/hook`);

      expect(res).toMatchObject({ kind: 'no-answer', code: ADDRESS_REFUSED_CODE });
      expect(res.kind === 'no-answer' && res.error).toMatch(/rebind\.test.*127\.0\.0\.1/);
      expect(dns.calls).toContain('rebind.test'); // the refusal came from the connect-time lookup
      expect(target.connections).toBe(0);
      expect(target.requests).toHaveLength(0);
    });

    it('refuses the connection when the name changed to loopback after the registration check passed', async () => {
      const target = await server();
      // First resolution (registration): a public address; every later one (connect time): loopback.
      const dns = fakeDns([['93.184.216.34'], ['127.0.0.1']]);
      const guard = new OutboundUrlGuard({ allowPrivate: false, lookupAll: dns.lookupAll });
      const url = `http://rebind.test:${target.port}/hook`;
      expect(await guard.check(url)).toEqual({ allowed: true });

      const res = await post(client(guard), url);

      expect(res).toMatchObject({ kind: 'no-answer', code: ADDRESS_REFUSED_CODE });
      expect(target.connections).toBe(0);
      expect(target.requests).toHaveLength(0);
    });

    it('refuses a name answering with a public and a loopback address', async () => {
      const target = await server();
      const dns = fakeDns([['93.184.216.34', '127.0.0.1']]);
      const res = await post(client(new OutboundUrlGuard({ allowPrivate: false, lookupAll: dns.lookupAll })), `http://rebind.test:${target.port}/hook`);
      expect(res).toMatchObject({ kind: 'no-answer', code: ADDRESS_REFUSED_CODE });
      expect(target.requests).toHaveLength(0);
    });

    it('connects through the same fake name with allowPrivate: the POST arrives, body and headers intact', async () => {
      const target = await server();
      const dns = fakeDns([['127.0.0.1']]);
      const res = await post(client(new OutboundUrlGuard({ allowPrivate: true, lookupAll: dns.lookupAll })), `http://rebind.test:${target.port}/hook?a=1`, '{"n":1}');

      expect(res).toMatchObject({ kind: 'answered', statusCode: 200, body: 'ok' });
      expect(dns.calls).toContain('rebind.test');
      expect(target.requests).toHaveLength(1);
      expect(target.requests[0]).toMatchObject({ method: 'POST', url: '/hook?a=1', body: '{"n":1}' });
      expect(target.requests[0]!.headers).toMatchObject({ host: `rebind.test:${target.port}`, 'content-type': 'application/json', 'content-length': '7', 'x-test': 'yes' });
    });
  });

  it('keeps the connection alive: sequential posts to one origin use one TCP connection', async () => {
    const target = await server();
    const c = client(openGuard);
    const results: WebhookResponse[] = [];
    for (let i = 0; i < 6; i++) results.push(await post(c, target.url(), `{"i":${i}}`));

    expect(results.map((r) => r.kind === 'answered' && r.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(target.requests.map((r) => r.body)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `{"i":${i}}`));
    expect(target.connections).toBe(1);
    expect(new Set(target.requests.map((r) => r.remotePort)).size).toBe(1);
  });

  it('keeps at most 1 KB of a large response body, and drains the rest so the connection is reused', async () => {
    const target = await server();
    const big = 'a'.repeat(1000) + 'b'.repeat(200_000);
    target.handler = (_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(big);
    };
    const c = client(openGuard);

    const res = await post(c, target.url());
    expect(res.kind).toBe('answered');
    if (res.kind !== 'answered') return;
    expect(res.statusCode).toBe(500);
    expect(RESPONSE_BODY_LIMIT).toBe(1024);
    expect(Buffer.byteLength(res.body)).toBe(1024);
    expect(res.body).toBe(big.slice(0, 1024));

    target.handler = (_req, r) => r.end('small');
    expect(await post(c, target.url())).toMatchObject({ kind: 'answered', statusCode: 200, body: 'small' });
    expect(target.connections).toBe(1);
  });

  it('gives no-answer (ETIMEDOUT) after timeoutMs when the server never answers', async () => {
    const target = await server();
    const hanging: ServerResponse[] = [];
    target.handler = (_req, res) => hanging.push(res);

    const started = Date.now();
    const res = await post(client(openGuard), target.url(), '{}', 400);
    const elapsed = Date.now() - started;

    expect(res).toMatchObject({ kind: 'no-answer', code: 'ETIMEDOUT', error: 'no answer within 400 ms' });
    expect(target.requests).toHaveLength(1); // it did arrive; only the answer never came
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(2000);
    // The client gave up on the connection: the server sees it closed.
    await waitFor(() => hanging[0]!.socket === null || hanging[0]!.socket.destroyed, 'the hanging connection to close', 5000);
  });

  it('gives no-answer after timeoutMs when the headers come but the body never ends', async () => {
    const target = await server();
    target.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial'); // ...and never res.end()
    };

    const started = Date.now();
    const res = await post(client(openGuard), target.url(), '{}', 400);
    const elapsed = Date.now() - started;

    expect(res.kind).toBe('no-answer');
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(2000);
  });

  it('returns a 302 as an answer and does not follow its Location', async () => {
    const target = await server();
    const elsewhere = await server();
    target.handler = (_req, res) => {
      res.writeHead(302, { location: elsewhere.url('/stolen') });
      res.end('moved');
    };

    const res = await post(client(openGuard), target.url());

    expect(res).toMatchObject({ kind: 'answered', statusCode: 302, body: 'moved' });
    expect(target.requests).toHaveLength(1);
    // Node's http never follows redirects by itself, so a follow would have happened before post() resolved;
    // this short fixed window only guards against a late, asynchronous one.
    await new Promise((r) => setTimeout(r, 200));
    expect(elsewhere.connections).toBe(0);
    expect(elsewhere.requests).toHaveLength(0);
  });
});
