import http from 'node:http';
import https from 'node:https';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { ADDRESS_REFUSED_CODE, OUTBOUND_URL_GUARD, type OutboundUrlGuard } from '../../../infra/outbound-url/outbound-url-guard';

/** Redirects followed at most (each target is checked by the guard again). */
const MAX_REDIRECTS = 3;

/**
 * Why a media URL gave no file. `permanent` failures (the URL now points at
 * a refused address, answers 4xx, or the file is too large) fail the message
 * at once: retrying cannot help. Others (timeouts, 5xx, resets) are retried
 * like any failed send.
 */
export class MediaFetchError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

export interface FetchedMedia {
  data: Buffer;
  /** The response's Content-Type, when it sent one. */
  mimetype: string | null;
}

/**
 * Downloads a media URL a client gave, when its message is sent (the URL is
 * not fetched at accept time: the row is the truth, the file is read when it
 * goes). Through the SSRF guard (the URL before each request, the addresses
 * at connect time: DNS rebinding), at most MEDIA_MAX_BYTES (by
 * Content-Length up front, by counting while streaming), within
 * MEDIA_FETCH_TIMEOUT_MS for the whole exchange.
 */
@Injectable()
export class MediaFetcher {
  constructor(
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'MEDIA_MAX_BYTES' | 'MEDIA_FETCH_TIMEOUT_MS'>,
    @Inject(OUTBOUND_URL_GUARD) private readonly guard: OutboundUrlGuard,
  ) {}

  async fetch(url: string): Promise<FetchedMedia> {
    const deadline = Date.now() + this.config.MEDIA_FETCH_TIMEOUT_MS;
    let current = url;
    for (let redirects = 0; ; redirects++) {
      const verdict = await this.guard.check(current);
      if (!verdict.allowed) throw new MediaFetchError(`media.url ${verdict.reason}`, verdict.kind !== 'dns-unavailable');
      const answer = await this.get(current, deadline);
      if (answer.kind === 'file') return answer.file;
      if (redirects >= MAX_REDIRECTS) throw new MediaFetchError(`media.url redirected more than ${MAX_REDIRECTS} times`, true);
      current = new URL(answer.location, current).toString();
    }
  }

  private get(url: string, deadline: number): Promise<{ kind: 'file'; file: FetchedMedia } | { kind: 'redirect'; location: string }> {
    const max = this.config.MEDIA_MAX_BYTES;
    return new Promise((resolve, reject) => {
      const secure = url.startsWith('https:');
      const req = (secure ? https : http).get(url, { lookup: this.guard.lookup, headers: { accept: '*/*' } }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          return resolve({ kind: 'redirect', location: res.headers.location });
        }
        if (status < 200 || status >= 300) {
          res.resume();
          return fail(new MediaFetchError(`media.url answered HTTP ${status}`, status >= 400 && status < 500 && status !== 408 && status !== 429));
        }
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > max) {
          res.destroy();
          return fail(tooLarge(max));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > max) {
            res.destroy();
            fail(tooLarge(max));
          } else chunks.push(chunk);
        });
        res.on('error', (error) => fail(new MediaFetchError(`media.url download failed: ${error.message}`, false)));
        res.on('end', () => {
          clearTimeout(timer);
          if (size === 0) return reject(new MediaFetchError('media.url answered an empty file', true));
          resolve({ kind: 'file', file: { data: Buffer.concat(chunks, size), mimetype: res.headers['content-type'] ?? null } });
        });
      });
      const fail = (error: MediaFetchError) => {
        clearTimeout(timer);
        req.destroy();
        reject(error);
      };
      const timer = setTimeout(() => fail(new MediaFetchError(`media.url did not answer within ${this.config.MEDIA_FETCH_TIMEOUT_MS} ms`, false)), Math.max(0, deadline - Date.now()));
      req.on('error', (error: NodeJS.ErrnoException) => {
        // The connect-time guard refused the address the name now resolves to.
        fail(new MediaFetchError(`media.url could not be fetched: ${error.message}`, error.code === ADDRESS_REFUSED_CODE));
      });
    });
  }
}

function tooLarge(max: number): MediaFetchError {
  return new MediaFetchError(`media.url is larger than ${max} bytes (MEDIA_MAX_BYTES)`, true);
}
