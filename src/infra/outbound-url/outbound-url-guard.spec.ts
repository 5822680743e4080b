import type { LookupAddress } from 'node:dns';
import { ServiceUnavailableError, ValidationError } from '../../common/errors/domain-errors';
import { ADDRESS_REFUSED_CODE, OutboundUrlGuard, urlShapeProblem, type LookupAll } from './outbound-url-guard';

type Answer = LookupAddress[] | { code: string } | 'hang';

/** A resolver answering from a table, recording what it was asked. */
function fakeDns(table: Record<string, Answer>) {
  const asked: string[] = [];
  const lookupAll: LookupAll = (hostname, _options, callback) => {
    asked.push(hostname);
    const answer = table[hostname] ?? { code: 'ENOTFOUND' };
    if (answer === 'hang') return;
    if (Array.isArray(answer)) callback(null, answer);
    else callback(Object.assign(new Error(`getaddrinfo ${answer.code} ${hostname}`), answer), []);
  };
  return { lookupAll, asked };
}

const v4 = (address: string): LookupAddress => ({ address, family: 4 });
const v6 = (address: string): LookupAddress => ({ address, family: 6 });

describe('urlShapeProblem', () => {
  it.each([
    ['ftp://example.com/x', 'must be an http:// or https:// URL'],
    ['file:///etc/passwd', 'must be an http:// or https:// URL'],
    ['javascript:alert(1)', 'must be an http:// or https:// URL'],
    ['example.com/hook', 'must be an absolute http:// or https:// URL'],
    ['/hook', 'must be an absolute http:// or https:// URL'],
    ['http://', 'must be an absolute http:// or https:// URL'],
    ['http://user:pass@example.com/', 'must not contain credentials (user:password@)'],
    ['http://user@example.com/', 'must not contain credentials (user:password@)'],
    ['https://:pass@example.com/', 'must not contain credentials (user:password@)'],
    [`https://example.com/${'a'.repeat(2030)}`, 'must be at most 2048 characters'],
  ])('%s: %s', (url, problem) => {
    expect(urlShapeProblem(url)).toBe(problem);
  });

  it('accepts absolute http(s) URLs up to 2048 characters', () => {
    for (const url of ['http://example.com', 'https://example.com:8443/hook?x=1#f', `https://example.com/${'a'.repeat(2048 - 20)}`]) {
      expect(urlShapeProblem(url)).toBeNull();
    }
  });
});

describe('OutboundUrlGuard.check (registration)', () => {
  const dns = fakeDns({
    'public.example': [v4('93.184.216.34'), v6('2606:4700::1111')],
    'inside.example': [v4('10.1.2.3')],
    'mixed.example': [v4('93.184.216.34'), v4('127.0.0.1')],
    'v6-inside.example': [v6('fd00::5')],
    'mapped.example': [v6('::ffff:169.254.169.254')],
    'metadata.google.internal': [v4('169.254.169.254')],
    'empty.example': [],
    'flaky.example': { code: 'EAI_AGAIN' },
    'slow.example': 'hang',
  });
  const guard = new OutboundUrlGuard({ allowPrivate: false, lookupAll: dns.lookupAll, resolveTimeoutMs: 50 });

  it.each([
    'http://127.0.0.1/hook',
    'http://127.1/hook', // WHATWG-normalized to 127.0.0.1
    'http://2130706433/hook', // 127.0.0.1 in decimal
    'http://0x7f000001/hook',
    'http://10.0.0.1',
    'http://172.16.0.1',
    'http://192.168.1.1',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1',
    'http://0.0.0.0',
    'http://224.0.0.1',
    'http://[::1]/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::]/',
  ])('refuses the address of %s without asking DNS', async (url) => {
    const verdict = await guard.check(url);
    expect(verdict).toMatchObject({ allowed: false, kind: 'refused-address', reason: expect.stringMatching(/^must not point to .+: it is an? .+ address \(WEBHOOK_ALLOW_PRIVATE=true allows it\)$/) });
  });

  it.each(['http://localhost/hook', 'http://LOCALHOST:8080/', 'http://localhost./', 'http://api.localhost/', 'http://a.b.localhost/'])(
    'refuses the loopback name %s without asking DNS',
    async (url) => {
      expect(await guard.check(url)).toMatchObject({ allowed: false, kind: 'refused-address', reason: expect.stringContaining('loopback name') });
    },
  );

  it.each([
    ['http://inside.example/', '10.1.2.3'],
    ['http://v6-inside.example/', 'fd00::5'],
    ['http://mapped.example/', '::ffff:169.254.169.254'],
    ['http://metadata.google.internal/computeMetadata/v1/', '169.254.169.254'],
    ['http://mixed.example/', '127.0.0.1'], // one private address is enough
  ])('refuses %s, which resolves to %s', async (url, address) => {
    expect(await guard.check(url)).toEqual({
      allowed: false,
      kind: 'refused-address',
      reason: expect.stringContaining(`it resolves to ${address}, which is a`),
    });
  });

  it('allows public literals and names resolving only to public addresses', async () => {
    for (const url of ['http://93.184.216.34/hook', 'https://[2606:4700::1111]/', 'https://public.example/hook']) {
      expect(await guard.check(url)).toEqual({ allowed: true });
    }
  });

  it('refuses names that do not exist: unknown to DNS, no address, or .invalid (never asked)', async () => {
    for (const url of ['http://nowhere.example/', 'http://empty.example/', 'http://x.invalid/']) {
      expect(await guard.check(url)).toEqual({ allowed: false, kind: 'unresolvable', reason: expect.stringMatching(/^cannot be resolved \(no address for .+\)$/) });
    }
    expect(dns.asked).not.toContain('x.invalid');
  });

  it('calls a DNS failure or a DNS timeout transient', async () => {
    expect(await guard.check('http://flaky.example/')).toMatchObject({ allowed: false, kind: 'dns-unavailable', reason: expect.stringContaining('EAI_AGAIN') });
    expect(await guard.check('http://slow.example/')).toMatchObject({ allowed: false, kind: 'dns-unavailable', reason: expect.stringContaining('within 0.05 s') });
  });

  it('checks the shape first', async () => {
    expect(await guard.check('ftp://public.example/')).toEqual({ allowed: false, kind: 'invalid', reason: 'must be an http:// or https:// URL' });
    expect(await guard.check('http://u:p@public.example/')).toMatchObject({ kind: 'invalid' });
  });

  it('with allowPrivate, checks only the shape and never resolves', async () => {
    const quiet = fakeDns({});
    const open = new OutboundUrlGuard({ allowPrivate: true, lookupAll: quiet.lookupAll });
    for (const url of ['http://127.0.0.1:9/x', 'http://localhost/', 'http://[::1]/', 'http://inside.example/', 'http://nowhere.example/']) {
      expect(await open.check(url)).toEqual({ allowed: true });
    }
    expect(quiet.asked).toEqual([]);
    expect(await open.check('ftp://x.example/')).toMatchObject({ allowed: false, kind: 'invalid' });
    expect(open.addressProblem('127.0.0.1')).toBeNull();
  });

  it('assertAllowed throws a ValidationError naming the field, or a 503 when DNS is down', async () => {
    const refused = await guard.assertAllowed('http://127.0.0.1/', 'url').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ValidationError);
    expect(refused).toMatchObject({ message: expect.stringMatching(/^url must not point to 127\.0\.0\.1/), details: [{ field: 'url', message: expect.stringMatching(/^url must not point/) }] });
    const unresolvable = await guard.assertAllowed('http://nowhere.example/', 'media.url').catch((e: unknown) => e);
    expect(unresolvable).toMatchObject({ details: [{ field: 'media.url', message: 'media.url cannot be resolved (no address for nowhere.example)' }] });
    await expect(guard.assertAllowed('http://flaky.example/', 'url')).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(guard.assertAllowed('https://public.example/', 'url')).resolves.toBeUndefined();
  });
});

describe('OutboundUrlGuard.lookup (connect time, against DNS rebinding)', () => {
  /** Calls the hook like net.connect does and reports what it answered. */
  function connectLookup(guard: OutboundUrlGuard, hostname: string, all: boolean) {
    return new Promise<{ error: (Error & { code?: string }) | null; address?: unknown; family?: number }>((resolve) =>
      guard.lookup(hostname, { all } as never, ((error: Error | null, address?: unknown, family?: number) => resolve({ error, address, family })) as never),
    );
  }

  it('hands public addresses on, in both callback forms', async () => {
    const guard = new OutboundUrlGuard({ allowPrivate: false, lookupAll: fakeDns({ 'public.example': [v4('93.184.216.34'), v6('2606:4700::1111')] }).lookupAll });
    expect(await connectLookup(guard, 'public.example', false)).toEqual({ error: null, address: '93.184.216.34', family: 4 });
    expect(await connectLookup(guard, 'public.example', true)).toEqual({ error: null, address: [v4('93.184.216.34'), v6('2606:4700::1111')], family: undefined });
  });

  it('fails the connection when the name now resolves to a refused address', async () => {
    let answer: LookupAddress[] = [v4('93.184.216.34')];
    const guard = new OutboundUrlGuard({ allowPrivate: false, lookupAll: (_h, _o, cb) => cb(null, answer) });
    expect((await connectLookup(guard, 'rebind.example', false)).error).toBeNull();
    answer = [v4('169.254.169.254')]; // rebound after registration
    const { error } = await connectLookup(guard, 'rebind.example', false);
    expect(error).toMatchObject({ code: ADDRESS_REFUSED_CODE, message: 'connection to rebind.example refused: it resolves to 169.254.169.254, which is a link-local (where cloud metadata services live) address' });
  });

  it('passes resolver errors through, and lets everything through with allowPrivate', async () => {
    const dns = fakeDns({ 'inside.example': [v4('10.0.0.7')] });
    const strict = new OutboundUrlGuard({ allowPrivate: false, lookupAll: dns.lookupAll });
    expect((await connectLookup(strict, 'nowhere.example', false)).error).toMatchObject({ code: 'ENOTFOUND' });
    const open = new OutboundUrlGuard({ allowPrivate: true, lookupAll: dns.lookupAll });
    expect(await connectLookup(open, 'inside.example', false)).toEqual({ error: null, address: '10.0.0.7', family: 4 });
  });
});
