import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';

/** At most this much of a response body is kept (in the delivery's lastError). */
export const RESPONSE_BODY_LIMIT = 1024;

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** What one attempt got: an HTTP answer (any status), or no answer at all. */
export type WebhookResponse =
  | { kind: 'answered'; statusCode: number; body: string; durationMs: number }
  | { kind: 'no-answer'; error: string; code: string | undefined; durationMs: number };

/**
 * The HTTP side of deliveries: one POST, no redirects followed (a 3xx is an
 * answer like any other non-2xx), a deadline over the whole exchange
 * (connect, send, headers and body), at most 1 KB of the response body kept
 * and the rest drained so the connection can be reused. Connections are kept
 * alive and pooled per origin (Node's agents pool by host and port), and
 * every new connection resolves its host through `lookup`, the SSRF guard's
 * connect-time check against DNS rebinding.
 */
export class WebhookHttpClient {
  private readonly agents: { http: http.Agent; https: https.Agent };

  constructor(private readonly lookup: LookupFunction, maxSocketsPerOrigin = 32) {
    // Idle sockets kept up to the number in use: fewer would close and reopen connections under load.
    const options = { keepAlive: true, maxSockets: maxSocketsPerOrigin, maxFreeSockets: maxSocketsPerOrigin, scheduling: 'lifo' as const };
    this.agents = { http: new http.Agent(options), https: new https.Agent(options) };
  }

  post(request: WebhookRequest): Promise<WebhookResponse> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    return new Promise((resolve) => {
      const url = new URL(request.url);
      const secure = url.protocol === 'https:';
      let settled = false;
      const finish = (response: WebhookResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(response);
      };
      const req = (secure ? https : http).request(
        url,
        {
          method: 'POST',
          agent: secure ? this.agents.https : this.agents.http,
          lookup: this.lookup,
          headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let kept = 0;
          res.on('data', (chunk: Buffer) => {
            if (kept >= RESPONSE_BODY_LIMIT) return; // drained, not kept
            chunks.push(chunk);
            kept += chunk.length;
          });
          res.on('end', () => {
            const body = Buffer.concat(chunks).subarray(0, RESPONSE_BODY_LIMIT).toString('utf8');
            finish({ kind: 'answered', statusCode: res.statusCode ?? 0, body, durationMs: elapsed() });
          });
          res.on('error', (error: NodeJS.ErrnoException) => finish(noAnswer(error, elapsed())));
        },
      );
      const deadline = setTimeout(() => {
        req.destroy(Object.assign(new Error(`no answer within ${request.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, request.timeoutMs);
      req.on('error', (error: NodeJS.ErrnoException) => finish(noAnswer(error, elapsed())));
      req.end(request.body);
    });
  }

  /** Closes pooled connections (shutdown). */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

function noAnswer(error: NodeJS.ErrnoException, durationMs: number): WebhookResponse {
  return { kind: 'no-answer', error: error.message, code: error.code, durationMs };
}
