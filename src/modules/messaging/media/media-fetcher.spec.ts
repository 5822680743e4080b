import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OutboundUrlGuard } from '../../../infra/outbound-url/outbound-url-guard';
import { MediaFetcher, MediaFetchError } from './media-fetcher';

describe('MediaFetcher', () => {
  const file = Buffer.from('a small but real file'.repeat(10));
  let server: http.Server;
  let base: string;
  const hung: http.ServerResponse[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/file.jpg') return res.writeHead(200, { 'content-type': 'image/jpeg' }).end(file);
      if (req.url === '/moved') return res.writeHead(302, { location: '/file.jpg' }).end();
      if (req.url === '/loop') return res.writeHead(302, { location: '/loop' }).end();
      if (req.url === '/big-declared') return res.writeHead(200, { 'content-length': String(file.length) }).end(file);
      if (req.url === '/big-chunked') {
        res.writeHead(200);
        res.write(file);
        return res.end(file);
      }
      if (req.url === '/busy') return res.writeHead(503).end();
      if (req.url === '/hang') return void hung.push(res);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    hung.forEach((res) => res.destroy());
    await new Promise((resolve) => server.close(resolve));
  });

  const fetcher = (overrides: { max?: number; timeoutMs?: number; allowPrivate?: boolean } = {}) =>
    new MediaFetcher(
      { MEDIA_MAX_BYTES: overrides.max ?? 1024 * 1024, MEDIA_FETCH_TIMEOUT_MS: overrides.timeoutMs ?? 5000 },
      new OutboundUrlGuard({ allowPrivate: overrides.allowPrivate ?? true }),
    );

  const failure = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(MediaFetchError);
    return error as MediaFetchError;
  };

  it('downloads the file with its content type', async () => {
    const fetched = await fetcher().fetch(`${base}/file.jpg`);
    expect(fetched.data.equals(file)).toBe(true);
    expect(fetched.mimetype).toBe('image/jpeg');
  });

  it('follows a redirect, but not forever', async () => {
    expect((await fetcher().fetch(`${base}/moved`)).data.equals(file)).toBe(true);
    const error = await failure(fetcher().fetch(`${base}/loop`));
    expect(error).toMatchObject({ permanent: true, message: expect.stringMatching(/redirected more than 3 times/) });
  });

  it('fails for good on a 4xx and retries a 5xx', async () => {
    expect(await failure(fetcher().fetch(`${base}/missing`))).toMatchObject({ permanent: true, message: 'media.url answered HTTP 404' });
    expect(await failure(fetcher().fetch(`${base}/busy`))).toMatchObject({ permanent: false, message: 'media.url answered HTTP 503' });
  });

  it('refuses a file above MEDIA_MAX_BYTES, declared or streamed', async () => {
    const small = fetcher({ max: file.length - 1 });
    expect(await failure(small.fetch(`${base}/big-declared`))).toMatchObject({ permanent: true, message: expect.stringMatching(/larger than/) });
    const twice = fetcher({ max: file.length + 1 });
    expect(await failure(twice.fetch(`${base}/big-chunked`))).toMatchObject({ permanent: true, message: expect.stringMatching(/larger than/) });
  });

  it('gives up after MEDIA_FETCH_TIMEOUT_MS, to be retried', async () => {
    expect(await failure(fetcher({ timeoutMs: 200 }).fetch(`${base}/hang`))).toMatchObject({ permanent: false, message: expect.stringMatching(/did not answer within 200 ms/) });
  });

  it('refuses a private address unless WEBHOOK_ALLOW_PRIVATE', async () => {
    const error = await failure(fetcher({ allowPrivate: false }).fetch(`${base}/file.jpg`));
    expect(error.permanent).toBe(true);
    expect(error.message).toMatch(/must not point to 127\.0\.0\.1/);
  });
});
