import http from 'node:http';
import { waitFor } from './test-env';

export interface SseFrame {
  id?: string;
  event?: string;
  data: string;
}

export interface SseStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Every event frame received so far, in order. */
  frames: SseFrame[];
  /** Comment lines (heartbeats), without the leading colon. */
  comments: string[];
  /** The body of a non-200 answer. */
  body: string;
  /** Resolves once `count` frames arrived (all frames so far). */
  waitForFrames(count: number, timeoutMs?: number): Promise<SseFrame[]>;
  /** True once the server ended or dropped the connection. */
  ended: () => boolean;
  /** Drops the connection from the client side, as a browser losing the network would. */
  close(): void;
}

/**
 * A minimal Server-Sent Events client over node:http (what EventSource does:
 * frames split on blank lines, `id:`, `event:`, `data:` fields, comments).
 * Resolves once the response headers arrived.
 */
export function openSse(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL(path, baseUrl), { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      let buffer = '';
      let ended = false;
      const stream: SseStream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        frames: [],
        comments: [],
        body: '',
        waitForFrames: (count, timeoutMs = 10_000) =>
          waitFor(() => (stream.frames.length >= count ? stream.frames.slice() : null), () => `${count} SSE frames (have ${stream.frames.length})`, timeoutMs, 10),
        ended: () => ended,
        close: () => req.destroy(),
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (stream.status !== 200) {
          stream.body += chunk;
          return;
        }
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const frame: SseFrame = { data: '' };
          let isEvent = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) stream.comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) frame.id = line.slice(4);
            else if (line.startsWith('event: ')) frame.event = line.slice(7);
            else if (line.startsWith('data: ')) {
              frame.data += line.slice(6);
              isEvent = true;
            }
          }
          if (isEvent) stream.frames.push(frame);
        }
      });
      const finish = () => {
        ended = true;
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
      resolve(stream);
    });
    // After the headers this is a no-op: a destroy() of ours is the test's own doing.
    req.on('error', reject);
  });
}
