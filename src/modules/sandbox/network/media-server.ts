import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseByteRange } from './byte-range';
import { createMediaTls } from './media-tls';
import { MediaStore } from './media-store';

export interface MediaServerOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** The host clients reach it by (in URLs and the certificate); default `host`, or 127.0.0.1 for a wildcard. */
  publicHost?: string;
  /** Bytes of media kept in memory, all files together; the oldest go first (default 128 MiB). */
  maxBytes?: number;
  /** Largest single upload (default 64 MiB, at most maxBytes). */
  maxFileBytes?: number;
  /** An upload or download that failed (bad auth, hash, size, unknown file): for the logs. */
  onRefused?(message: string): void;
}

/** What the `media_conn` iq answers (Baileys' refreshMediaConn). */
export interface MediaConnInfo {
  /** `host:port`: Baileys builds `https://<hostname><path>` from it. */
  hostname: string;
  auth: string;
  ttlSeconds: number;
  maxContentLengthBytes: number;
}

export interface MediaServerStats {
  files: number;
  bytes: number;
  evicted: number;
  uploads: number;
  downloads: number;
  refused: number;
}

export const DEFAULT_MAX_MEDIA_BYTES = 128 * 1024 * 1024;
const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;
/** How long Baileys may reuse the media_conn answer before asking again. */
const MEDIA_CONN_TTL_SECONDS = 300;
/** Download paths: like WhatsApp's CDN paths, a random id makes the URL a capability (no auth on downloads, as there). */
const DOWNLOAD_PATH = /^\/v\/t62\.7118-24\/([0-9a-f]{32})\.enc$/;

/**
 * WhatsApp's media servers, for the sandbox: HTTPS with a test CA generated
 * at start (clients trust it only in sandbox mode). Baileys uploads encrypted
 * media with `POST https://<host><MEDIA_PATH_MAP[type]>/<fileEncSha256
 * b64url>?auth=<media_conn auth>&token=<same hash>` (Node's https module, the
 * socket's `fetchAgent`) and expects `{url, direct_path}`; recipients
 * download `url` or `https://<host><direct_path>` with fetch (the socket's
 * `options.dispatcher`), with a `Range` header for partial downloads. Files
 * stay in memory, bounded (MediaStore).
 */
export class SandboxMediaServer {
  /** The `auth` every upload must carry; it changes at every start. */
  readonly auth = randomBytes(24).toString('base64url');
  private readonly store: MediaStore;
  private readonly maxFileBytes: number;
  private server: Server | null = null;
  private ca: string | null = null;
  private port = 0;
  private uploads = 0;
  private downloads = 0;
  private refused = 0;
  /** Downloads still to fail on purpose (fault injection). */
  private failDownloads = 0;

  constructor(private readonly options: MediaServerOptions = {}) {
    this.store = new MediaStore(options.maxBytes ?? DEFAULT_MAX_MEDIA_BYTES);
    this.maxFileBytes = Math.min(options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES, this.store.maxBytes);
  }

  async start(): Promise<void> {
    if (this.server) throw new Error('the media server is already started');
    const tls = await createMediaTls([this.publicHost, 'localhost', '127.0.0.1', '::1']);
    const server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
      this.onRequest(req, res).catch((error: unknown) => {
        // A client that went away mid-upload: nothing to answer.
        this.refuse(res, 500, `media request failed: ${error instanceof Error ? error.message : String(error)}`);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.ca = tls.caPem;
    this.port = (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.store.clear();
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** PEM of the test CA the server's certificate chains to. */
  get caPem(): string {
    if (!this.ca) throw new Error('the media server is not started');
    return this.ca;
  }

  /** `host:port` as clients reach it. */
  get hostname(): string {
    return `${this.publicHost.includes(':') ? `[${this.publicHost}]` : this.publicHost}:${this.port}`;
  }

  get mediaConn(): MediaConnInfo {
    return { hostname: this.hostname, auth: this.auth, ttlSeconds: MEDIA_CONN_TTL_SECONDS, maxContentLengthBytes: this.maxFileBytes };
  }

  get stats(): MediaServerStats {
    return {
      files: this.store.count,
      bytes: this.store.bytes,
      evicted: this.store.evicted,
      uploads: this.uploads,
      downloads: this.downloads,
      refused: this.refused,
    };
  }

  /** Fault injection: the next `count` downloads answer 503 (0 clears it). */
  failNextDownloads(count: number): void {
    this.failDownloads = Math.max(0, Math.floor(count));
  }

  get downloadFailuresLeft(): number {
    return this.failDownloads;
  }

  private get publicHost(): string {
    const host = this.options.publicHost ?? this.options.host ?? '127.0.0.1';
    return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://media.sandbox');
    if (req.method === 'POST') return this.upload(req, res, url);
    if (req.method === 'GET' || req.method === 'HEAD') return this.download(req, res, url);
    this.refuse(res, 405, `media: method ${req.method} not allowed`);
  }

  private async upload(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (url.searchParams.get('auth') !== this.auth) {
      req.resume();
      return this.refuse(res, 401, 'media upload refused: wrong or missing auth (ask media_conn again)');
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > this.maxFileBytes) {
      req.resume();
      return this.refuse(res, 413, `media upload refused: ${declared} bytes exceed ${this.maxFileBytes}`);
    }
    const body = await readBody(req, this.maxFileBytes);
    if (!body) return this.refuse(res, 413, `media upload refused: more than ${this.maxFileBytes} bytes`);
    // The token is the b64url SHA-256 of the encrypted file (the last path segment repeats it): a truncated upload is refused.
    const token = url.searchParams.get('token') ?? url.pathname.split('/').pop() ?? '';
    if (createHash('sha256').update(body).digest('base64url') !== token) {
      return this.refuse(res, 400, 'media upload refused: the body does not match its fileEncSha256 token');
    }
    const id = randomBytes(16).toString('hex');
    this.store.put(id, body, url.pathname.slice(0, url.pathname.lastIndexOf('/')) || '/');
    this.uploads++;
    const directPath = `/v/t62.7118-24/${id}.enc?ccb=11-4&_nc_sid=sandbox`;
    sendJson(res, 200, { url: `https://${this.hostname}${directPath}&mms3=true`, direct_path: directPath });
  }

  private download(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (this.failDownloads > 0) {
      this.failDownloads--;
      return this.refuse(res, 503, 'media download failed on purpose (sandbox fault mediaDownloadFailures)');
    }
    const id = DOWNLOAD_PATH.exec(url.pathname)?.[1];
    const file = id ? this.store.get(id) : undefined;
    // 404 (gone, or evicted) is what makes Baileys ask the sender for a re-upload.
    if (!file) return this.refuse(res, 404, `media download: no file at ${url.pathname}`);
    const size = file.bytes.length;
    const range = parseByteRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    const { start, end } = range ?? { start: 0, end: size - 1 };
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      'content-length': end - start + 1,
    };
    if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(range ? 206 : 200, headers);
    this.downloads++;
    res.end(req.method === 'HEAD' ? undefined : file.bytes.subarray(start, end + 1));
  }

  private refuse(res: ServerResponse, status: number, message: string): void {
    this.refused++;
    this.options.onRefused?.(message);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, status, { error: message });
  }
}

/**
 * The request body, or null when it exceeds `maxBytes`: the rest is read and
 * dropped (leaving the loop would destroy the socket before the 413 is sent).
 */
async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= maxBytes) chunks.push(chunk as Buffer);
    else chunks.length = 0;
  }
  return size > maxBytes ? null : Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}
