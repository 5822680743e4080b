import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { estimateKeyBits, isWeakApiKey } from './config.schema';
import { ConfigValidationError, parseConfig } from './load-config';

const VALID = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/zaphub',
  REDIS_URL: 'redis://127.0.0.1:6379',
  API_KEY: 'a-key-of-sixteen-chars',
};

const KEY_A = Buffer.alloc(32, 7).toString('base64');
const KEY_B = Buffer.alloc(32, 9).toString('hex');
const WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 5).toString('base64')}`;
const WEAK_KEY = 'API_KEY is a placeholder or too easy to guess: generate one with openssl rand -base64 24';

/** Deterministic stand-ins for random keys (SHA-256 output is uniform), so these tests cannot flake. */
function randomLike(i: number, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  for (let offset = 0, n = 0; offset < bytes; offset += 32, n++) createHash('sha256').update(`${i}/${n}`).digest().copy(out, offset);
  return out;
}

/** The problems parseConfig reports for `env`, or fails when the env is accepted. */
function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigValidationError);
    return (error as ConfigValidationError).problems;
  }
  throw new Error(`config was accepted: ${JSON.stringify(env)}`);
}

describe('parseConfig', () => {
  it('accepts the three required variables and applies the defaults', () => {
    const config = parseConfig(VALID);
    expect(config).toMatchObject({
      NODE_ENV: 'development',
      PORT: 3000,
      HOST: '0.0.0.0',
      APP_ROLE: 'all',
      REDIS_PREFIX: 'zaphub',
      BODY_LIMIT: '16mb',
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: 20000,
      SANDBOX: false,
      MAX_SESSIONS: 50,
      DEFAULT_RATE_LIMIT_PER_MINUTE: 60,
      HUMANIZE_ENABLED: true,
      HUMANIZE_TYPING_MS_PER_CHAR: 40,
      HUMANIZE_MIN_TYPING_MS: 800,
      HUMANIZE_MAX_TYPING_MS: 6000,
      HUMANIZE_CHAT_GAP_MS: 1000,
      PENDING_TTL_HOURS: 24,
      PROCESSED_RETENTION_MINUTES: 60,
      HISTORY_RETENTION_DAYS: 7,
      CLEANUP_PROCESSED_CRON: '*/30 * * * *',
      FLOW_TTL_MS: 300000,
      WEBHOOK_TIMEOUT_MS: 10000,
      WEBHOOK_ALLOW_PRIVATE: false,
      WEBHOOK_EVENTS: ['*'],
      WEBHOOK_SECRET_OVERLAP_HOURS: 24,
    });
    expect(config.METRICS_TOKEN).toBeUndefined();
    expect(config.WEBHOOK_URL).toBeUndefined();
    expect(config.WEBHOOK_SECRET).toBeUndefined();
    expect(config.INSTANCE_ID).toBe(`${hostname()}-${process.pid}`);
  });

  it('converts numbers and booleans from their string form', () => {
    const config = parseConfig({ ...VALID, PORT: '8080', SANDBOX: '1', HUMANIZE_ENABLED: 'false', WEBHOOK_ALLOW_PRIVATE: 'true', INSTANCE_ID: 'pod-a' });
    expect(config).toMatchObject({ PORT: 8080, SANDBOX: true, HUMANIZE_ENABLED: false, WEBHOOK_ALLOW_PRIVATE: true, INSTANCE_ID: 'pod-a' });
  });

  it('treats empty strings as unset (defaults apply, required ones are missing)', () => {
    const config = parseConfig({ ...VALID, PORT: '', METRICS_TOKEN: '' });
    expect(config.PORT).toBe(3000);
    expect(config.METRICS_TOKEN).toBeUndefined();
    expect(problemsOf({ ...VALID, API_KEY: '' })).toEqual(['API_KEY is required']);
  });

  it('names each missing required variable on its own line', () => {
    expect(problemsOf({})).toEqual(['DATABASE_URL is required', 'REDIS_URL is required', 'API_KEY is required']);
    const error = (() => {
      try {
        parseConfig({});
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message.split('\n')).toEqual([
      'Invalid configuration:',
      '  - DATABASE_URL is required',
      '  - REDIS_URL is required',
      '  - API_KEY is required',
    ]);
  });

  it.each<[string, Record<string, string>, string]>([
    ['mysql database URL', { DATABASE_URL: 'mysql://u@h/db' }, 'DATABASE_URL must be a postgresql:// or postgres:// URL'],
    ['database URL that is not a URL', { DATABASE_URL: 'localhost:5432' }, 'DATABASE_URL must be a postgresql:// or postgres:// URL'],
    ['http Redis URL', { REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL must be a redis:// or rediss:// URL'],
    ['short API key', { API_KEY: 'short' }, 'API_KEY must be at least 16 characters'],
    ['unknown role', { APP_ROLE: 'boss' }, 'APP_ROLE must be one of all, api, worker'],
    ['unknown NODE_ENV', { NODE_ENV: 'prod' }, 'NODE_ENV must be one of development, production, test'],
    ['unknown log level', { LOG_LEVEL: 'verbose' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent'],
    ['port above range', { PORT: '65536' }, 'PORT must be <= 65535'],
    ['negative port', { PORT: '-1' }, 'PORT must be >= 0'],
    ['non-numeric port', { PORT: 'http' }, 'PORT must be a number'],
    ['fractional number', { MAX_SESSIONS: '2.5' }, 'MAX_SESSIONS must be an integer'],
    ['zero sessions', { MAX_SESSIONS: '0' }, 'MAX_SESSIONS must be >= 1'],
    ['non-numeric timeout', { SHUTDOWN_TIMEOUT_MS: '20s' }, 'SHUTDOWN_TIMEOUT_MS must be a number'],
    ['timeout below minimum', { SHUTDOWN_TIMEOUT_MS: '10' }, 'SHUTDOWN_TIMEOUT_MS must be >= 1000'],
    ['body limit with a unit typo', { BODY_LIMIT: '16 megabytes' }, 'BODY_LIMIT must be a size such as 16mb, 512kb or 1048576'],
    ['body limit negative', { BODY_LIMIT: '-1mb' }, 'BODY_LIMIT must be a size such as 16mb, 512kb or 1048576'],
    ['boolean as yes', { SANDBOX: 'yes' }, 'SANDBOX must be true or false'],
    ['boolean as TRUE', { HUMANIZE_ENABLED: 'TRUE' }, 'HUMANIZE_ENABLED must be true or false'],
    ['Redis prefix with a colon', { REDIS_PREFIX: 'a:b' }, 'REDIS_PREFIX must match ^[A-Za-z0-9_-]{1,64}$'],
    ['cron with three fields', { CLEANUP_PROCESSED_CRON: '* * *' }, 'CLEANUP_PROCESSED_CRON must be a cron expression with 5 or 6 fields'],
    ['auth state key of the wrong size', { AUTH_STATE_KEY: 'abcd' }, 'AUTH_STATE_KEY must be 32 bytes as base64 or hex'],
    ['previous auth state key of the wrong size', { AUTH_STATE_KEY: KEY_A, AUTH_STATE_KEY_PREVIOUS: 'abcd' }, 'AUTH_STATE_KEY_PREVIOUS must be 32 bytes as base64 or hex'],
    [
      'previous auth state key without a current one',
      { AUTH_STATE_KEY_PREVIOUS: KEY_B },
      'AUTH_STATE_KEY_PREVIOUS is set without AUTH_STATE_KEY: set the new key as AUTH_STATE_KEY (the previous one only decrypts)',
    ],
    [
      'previous auth state key equal to the current one (hex and base64 of the same bytes)',
      { AUTH_STATE_KEY: KEY_A, AUTH_STATE_KEY_PREVIOUS: Buffer.from(KEY_A, 'base64').toString('hex') },
      'AUTH_STATE_KEY_PREVIOUS must differ from AUTH_STATE_KEY',
    ],
    ['humanize min above max', { HUMANIZE_MIN_TYPING_MS: '7000', HUMANIZE_MAX_TYPING_MS: '6000' }, 'HUMANIZE_MIN_TYPING_MS must be <= HUMANIZE_MAX_TYPING_MS'],
    ['reconnect base above max', { RECONNECT_BASE_MS: '5000', RECONNECT_MAX_MS: '1000' }, 'RECONNECT_BASE_MS must be <= RECONNECT_MAX_MS'],
    ['http sandbox URL', { SANDBOX_URL: 'http://127.0.0.1:9000', SANDBOX_ROOT_KEY: 'AAAA' }, 'SANDBOX_URL must be a ws:// or wss:// URL'],
    ['sandbox URL without its root key', { SANDBOX_URL: 'ws://127.0.0.1:9000' }, 'SANDBOX_ROOT_KEY is required when SANDBOX_URL is set'],
    ['sandbox root key that is not base64', { SANDBOX_ROOT_KEY: 'not base64!' }, 'SANDBOX_ROOT_KEY must be base64'],
    ['sandbox in production', { SANDBOX: 'true', NODE_ENV: 'production' }, 'SANDBOX must not be true when NODE_ENV=production'],
    ['ftp webhook URL', { WEBHOOK_URL: 'ftp://hooks.example/x', WEBHOOK_SECRET: WEBHOOK_SECRET }, 'WEBHOOK_URL must be a http:// or https:// URL'],
    ['webhook URL with credentials', { WEBHOOK_URL: 'https://u:p@hooks.example/x', WEBHOOK_SECRET: WEBHOOK_SECRET }, 'WEBHOOK_URL must not contain credentials (user:password@)'],
    ['webhook URL over 2048 characters', { WEBHOOK_URL: `https://hooks.example/${'a'.repeat(2040)}`, WEBHOOK_SECRET: WEBHOOK_SECRET }, 'WEBHOOK_URL must be at most 2048 characters'],
    [
      'webhook URL without its secret',
      { WEBHOOK_URL: 'https://hooks.example/x' },
      'WEBHOOK_SECRET is required when WEBHOOK_URL is set (whsec_ + base64 of 24 to 64 bytes: whsec_$(openssl rand -base64 32))',
    ],
    [
      'webhook secret in another format',
      { WEBHOOK_SECRET: 'my-webhook-secret' },
      'WEBHOOK_SECRET must be whsec_ followed by the base64 of 24 to 64 bytes (e.g. whsec_$(openssl rand -base64 32))',
    ],
    [
      'webhook events with an empty item',
      { WEBHOOK_EVENTS: 'message.sent,,session.status' },
      'WEBHOOK_EVENTS must be * or a comma-separated list of event names such as message.received,session.status',
    ],
    ['negative secret overlap', { WEBHOOK_SECRET_OVERLAP_HOURS: '-1' }, 'WEBHOOK_SECRET_OVERLAP_HOURS must be >= 0'],
  ])('rejects a %s with one line naming the variable', (_label, overrides, expected) => {
    expect(problemsOf({ ...VALID, ...overrides })).toEqual([expected]);
  });

  it('accepts a global webhook from the environment, its events as a list', () => {
    const config = parseConfig({
      ...VALID,
      WEBHOOK_URL: 'https://hooks.example/zaphub',
      WEBHOOK_SECRET: WEBHOOK_SECRET,
      WEBHOOK_EVENTS: ' message.received, session.status ',
      WEBHOOK_SECRET_OVERLAP_HOURS: '0',
    });
    expect(config).toMatchObject({
      WEBHOOK_URL: 'https://hooks.example/zaphub',
      WEBHOOK_SECRET: WEBHOOK_SECRET,
      WEBHOOK_EVENTS: ['message.received', 'session.status'],
      WEBHOOK_SECRET_OVERLAP_HOURS: 0,
    });
    expect(parseConfig({ ...VALID, WEBHOOK_EVENTS: '*' }).WEBHOOK_EVENTS).toEqual(['*']);
  });

  it('never echoes the webhook secret in a problem line', () => {
    const problems = problemsOf({ ...VALID, WEBHOOK_SECRET: 'whsec_c2VrcmV0LXNla3JpdA==', WEBHOOK_URL: 'https://u:hunter2@hooks.example/' });
    expect(problems.join('\n')).not.toMatch(/c2VrcmV0|hunter2/);
  });

  it('accepts the sandbox outside production and with a root key for an external sandbox', () => {
    expect(parseConfig({ ...VALID, SANDBOX: 'true' }).SANDBOX).toBe(true);
    expect(parseConfig({ ...VALID, SANDBOX_URL: 'wss://sandbox.example:9000', SANDBOX_ROOT_KEY: 'QUJDRA==' }).SANDBOX_URL).toBe(
      'wss://sandbox.example:9000',
    );
  });

  it('accepts sizes in every unit and both 32-byte key encodings', () => {
    for (const size of ['1048576', '512kb', '16MB', '1gb', '100b']) expect(parseConfig({ ...VALID, BODY_LIMIT: size }).BODY_LIMIT).toBe(size);
    expect(parseConfig({ ...VALID, AUTH_STATE_KEY: Buffer.alloc(32, 7).toString('base64') }).AUTH_STATE_KEY).toBeDefined();
    expect(parseConfig({ ...VALID, AUTH_STATE_KEY: 'ab'.repeat(32) }).AUTH_STATE_KEY).toBeDefined();
  });

  it('accepts a previous auth state key beside a different current one, in either encoding', () => {
    const config = parseConfig({ ...VALID, AUTH_STATE_KEY: KEY_A, AUTH_STATE_KEY_PREVIOUS: KEY_B });
    expect(config).toMatchObject({ AUTH_STATE_KEY: KEY_A, AUTH_STATE_KEY_PREVIOUS: KEY_B });
    expect(parseConfig({ ...VALID, AUTH_STATE_KEY: KEY_A }).AUTH_STATE_KEY_PREVIOUS).toBeUndefined();
  });

  it('reports several problems together, cross-field rules included, one line each', () => {
    const problems = problemsOf({
      REDIS_URL: 'http://nope',
      API_KEY: 'short',
      PORT: '99999',
      APP_ROLE: 'boss',
      BODY_LIMIT: 'big',
      SANDBOX: 'maybe',
      MAX_SESSIONS: '1.5',
      HUMANIZE_MIN_TYPING_MS: '9000',
      SANDBOX_URL: 'ws://127.0.0.1:9000',
      AUTH_STATE_KEY_PREVIOUS: KEY_B,
    });
    expect(problems.sort()).toEqual(
      [
        'AUTH_STATE_KEY_PREVIOUS is set without AUTH_STATE_KEY: set the new key as AUTH_STATE_KEY (the previous one only decrypts)',
        'DATABASE_URL is required',
        'REDIS_URL must be a redis:// or rediss:// URL',
        'API_KEY must be at least 16 characters',
        'PORT must be <= 65535',
        'APP_ROLE must be one of all, api, worker',
        'BODY_LIMIT must be a size such as 16mb, 512kb or 1048576',
        'SANDBOX must be true or false',
        'MAX_SESSIONS must be an integer',
        'HUMANIZE_MIN_TYPING_MS must be <= HUMANIZE_MAX_TYPING_MS',
        'SANDBOX_ROOT_KEY is required when SANDBOX_URL is set',
      ].sort(),
    );
    for (const line of problems) expect(line).not.toContain('\n');
  });

  describe('API_KEY quality', () => {
    it('accepts generated keys: openssl rand -base64 24, 24 random bytes as base64url or hex, 16 bytes, a UUID', () => {
      for (let i = 0; i < 2000; i++) {
        const keys = [
          randomLike(i, 24).toString('base64'),
          randomLike(i, 24).toString('base64url'),
          randomLike(i, 24).toString('hex'),
          randomLike(i, 16).toString('base64url'),
          randomLike(i, 12).toString('base64'),
        ];
        for (const key of keys) expect({ key, weak: isWeakApiKey(key) }).toEqual({ key, weak: false });
      }
      expect(parseConfig({ ...VALID, API_KEY: 'PTWY/UjDCjbrbg8/ONgs2HJ/XcIdOOYo' }).API_KEY).toBe('PTWY/UjDCjbrbg8/ONgs2HJ/XcIdOOYo');
      expect(isWeakApiKey('acdbc899-43b1-4659-8791-dd277f6feba0')).toBe(false);
    });

    it('accepts the key the test suite uses', () => {
      expect(parseConfig({ ...VALID, API_KEY: 'test-api-key-0123456789abcdef' }).API_KEY).toBe('test-api-key-0123456789abcdef');
    });

    it('refuses the placeholder of the Kubernetes example secret, and the one it had before', () => {
      const yaml = readFileSync(path.join(__dirname, '..', '..', 'deploy', 'kubernetes', 'secret.example.yaml'), 'utf8');
      const placeholder = /^\s*API_KEY:\s*"([^"]*)"/m.exec(yaml)?.[1];
      expect(placeholder?.length).toBeGreaterThanOrEqual(16);
      expect(problemsOf({ ...VALID, API_KEY: placeholder })).toEqual([WEAK_KEY]);
      expect(problemsOf({ ...VALID, API_KEY: 'CHANGE-ME-at-least-16-characters' })).toEqual([WEAK_KEY]);
    });

    it.each([
      'changeme-changeme',
      'change-me-please-0000',
      'Change_Me_9f8e7d6c5b4a',
      'x7Q-CHANGEME-k2P9vL4m',
      'replace-me-Zk81hQ0p',
      'REPLACE_ME_WITH_A_KEY',
      'your-api-key-here-123',
      'YourApiKey_9c1f7e2b',
      'insert-key-here-0000',
      'placeholder-7f3a9b2c',
      'my-secret-api-key-2024',
      'password1234567890',
      'example-api-key-value',
      'dummy-key-for-now-4821',
      'generate-one-with-openssl',
    ])('refuses the placeholder %s', (key) => {
      expect(problemsOf({ ...VALID, API_KEY: key })).toEqual([WEAK_KEY]);
    });

    it.each([
      ['one character repeated', 'x'.repeat(32)],
      ['x placeholder with a tail', 'xxxxxxxxxxxxxxxxxxxxxxxx1'],
      ['two characters alternating', 'ab'.repeat(12)],
      ['seven distinct characters', 'abcdefgabcdefgabcdefg'],
      ['the alphabet', 'abcdefghijklmnopqrstuvwxyz'],
      ['digits in a row', '1234567890123456'],
      ['hex digits in a row, twice', '0123456789abcdef0123456789abcdef'],
      ['a run down', 'zyxwvutsrqponmlkjihgfedcba'],
      ['upper case and digits in a row', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345'],
      ['sixteen random digits (53 bits)', '8302741956372810'],
    ])('refuses a key that is too easy to guess: %s', (_label, key) => {
      expect(problemsOf({ ...VALID, API_KEY: key })).toEqual([WEAK_KEY]);
    });

    it('ignores case and separators when looking for placeholders', () => {
      for (const key of ['CHANGE-ME-0123456789', 'cHaNgE.mE/0123456789', 'c-h-a-n-g-e-m-e-0123456789']) expect(isWeakApiKey(key)).toBe(true);
    });

    it('counts repeats and straight runs as nothing, other characters by the classes in use', () => {
      expect(estimateKeyBits('aaaa')).toBeCloseTo(2 * Math.log2(26));
      expect(estimateKeyBits('abcdef')).toBeCloseTo(2 * Math.log2(26));
      expect(estimateKeyBits('aZ9-')).toBeCloseTo(4 * Math.log2(26 + 26 + 10 + 33));
      expect(estimateKeyBits('acegik')).toBeCloseTo(6 * Math.log2(26)); // steps of 2 are not a run
    });

    it('reports a short key once, about its length', () => {
      expect(problemsOf({ ...VALID, API_KEY: 'changeme' })).toEqual(['API_KEY must be at least 16 characters']);
    });
  });

  it('never echoes a secret value in a problem line', () => {
    const problems = problemsOf({ ...VALID, API_KEY: 'sekrit', METRICS_TOKEN: '', DATABASE_URL: 'mysql://user:hunter2@db/x' });
    expect(problems.join('\n')).not.toMatch(/sekrit|hunter2/);
    const weak = problemsOf({ ...VALID, API_KEY: 'change-me-sekrit-0000', AUTH_STATE_KEY_PREVIOUS: KEY_B });
    expect(weak.join('\n')).not.toMatch(/sekrit|0000|CQkJ|0909/i);
  });
});
