import { validateCronExpression } from 'cron';
import { z } from 'zod';

/**
 * Every environment variable ZapHub reads, with its default. This file and
 * `load-config.ts` are the only places that know about `process.env`; the rest
 * of the code receives a typed, validated `AppConfig`.
 * Keep `.env.example` in step with this schema.
 */
const bool = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1');
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ message: 'must be a number' })
    .int({ message: 'must be an integer' })
    .min(min, { message: `must be >= ${min}` })
    .max(max, { message: `must be <= ${max}` });
const byteSize = z
  .string()
  .regex(/^\d+(b|kb|mb|gb)?$/i, { message: 'must be a size such as 16mb, 512kb or 1048576' });
const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a ${protocols.map((p) => p.replace(':', '://')).join(' or ')} URL` },
  );
const oneOf = (values: readonly string[]) => `must be one of ${values.join(', ')}`;
const NODE_ENVS = ['development', 'production', 'test'] as const;
const APP_ROLES = ['all', 'api', 'worker'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const cron = z
  .string()
  .regex(/^(\S+\s+){4,5}\S+$/, { message: 'must be a cron expression with 5 or 6 fields', abort: true })
  // Field values too (`99 * * * *` would otherwise fail the boot with a stack trace, not one line).
  .refine((v) => validateCronExpression(v).valid, { message: 'is not a valid cron expression (e.g. */30 * * * *)' });

/**
 * Values copied from examples and templates that must never protect a real
 * deployment. Matched case-insensitively anywhere in the key once everything
 * but letters and digits is removed, so `Change_Me-please-0000` is caught too.
 * Each is 5 or more letters, so a random 32-character base64 key contains one
 * about once in a million draws (and is then refused with advice to generate
 * another).
 */
const API_KEY_PLACEHOLDERS = [
  'changeme', 'replaceme', 'yourapikey', 'yourkey', 'yoursecret', 'yourtoken', 'apikeyhere', 'keyhere', 'insertkey',
  'placeholder', 'example', 'sample', 'dummy', 'secret', 'password', 'default', 'openssl', 'generate', 'atleast16',
] as const;
const MIN_API_KEY_BITS = 64;

/**
 * Rough strength of a key in bits, to refuse what a person typed rather than
 * generated: characters that continue a repeat or a straight run (`aaa`,
 * `abc`, `321`) count nothing, every other one counts log2 of the size of the
 * character classes the key uses (lower, upper, digits, others). A Shannon
 * estimate over character frequencies was not used: it is capped at
 * log2(length) per character, so it refuses most genuine 16-character random
 * keys, and it rates `abcdefghijklmnopqrstuvwxyz` at 122 bits.
 */
export function estimateKeyBits(key: string): number {
  const codes = [...key].map((c) => c.codePointAt(0)!);
  let counted = 0;
  for (let i = 0; i < codes.length; i++) {
    const step = i >= 1 ? codes[i] - codes[i - 1] : NaN;
    const continuesRun = i >= 2 && Math.abs(step) <= 1 && step === codes[i - 1] - codes[i - 2];
    if (!continuesRun) counted++;
  }
  const pool =
    (/[a-z]/.test(key) ? 26 : 0) + (/[A-Z]/.test(key) ? 26 : 0) + (/[0-9]/.test(key) ? 10 : 0) + (/[^A-Za-z0-9]/.test(key) ? 33 : 0);
  return counted * Math.log2(Math.max(pool, 1));
}

/** True for known placeholders, keys of fewer than 8 distinct characters, and keys estimated below 64 bits. */
export function isWeakApiKey(key: string): boolean {
  const letters = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (API_KEY_PLACEHOLDERS.some((word) => letters.includes(word))) return true;
  return new Set(key).size < 8 || estimateKeyBits(key) < MIN_API_KEY_BITS;
}

/** AUTH_STATE_KEY and AUTH_STATE_KEY_PREVIOUS: 32 bytes as base64 (44 characters) or hex (64). */
const authStateKey = z
  .string()
  .regex(/^[A-Za-z0-9+/]{43}=$|^[0-9a-fA-F]{64}$/, { message: 'must be 32 bytes as base64 or hex' });
const authStateKeyBytes = (v: string) => Buffer.from(v, /^[0-9a-fA-F]{64}$/.test(v) ? 'hex' : 'base64');

/**
 * WEBHOOK_URL: http(s), no credentials, at most 2048 characters (the address
 * check, which needs DNS, runs when the endpoint is registered at boot).
 */
const webhookUrl = url(['http:', 'https:'])
  .refine((v) => v.length <= 2048, { message: 'must be at most 2048 characters' })
  .refine(
    (v) => {
      try {
        const parsed = new URL(v);
        return !parsed.username && !parsed.password;
      } catch {
        return true; // reported by url()
      }
    },
    { message: 'must not contain credentials (user:password@)' },
  );
/** WEBHOOK_EVENTS: a comma-separated list of `*` or event names (the webhooks module checks the names at boot). */
const webhookEvents = z
  .string()
  .regex(/^\s*(\*|[a-z]+(\.[a-z]+)+)\s*(,\s*(\*|[a-z]+(\.[a-z]+)+)\s*)*$/, {
    message: 'must be * or a comma-separated list of event names such as message.received,session.status',
  })
  .transform((v) => v.split(',').map((e) => e.trim()))
  .default(['*']);
/** WEBHOOK_SECRET: standardwebhooks format, `whsec_` + base64 of 24 to 64 bytes (the webhooks module's rule, repeated here: config imports nothing). */
const webhookSecret = z.string().refine(
  (v) => {
    const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(v);
    if (!m || m[1].length % 4 !== 0) return false;
    const bytes = Buffer.from(m[1], 'base64');
    return bytes.length >= 24 && bytes.length <= 64 && bytes.toString('base64') === m[1];
  },
  { message: 'must be whsec_ followed by the base64 of 24 to 64 bytes (e.g. whsec_$(openssl rand -base64 32))' },
);

export const baseConfigSchema = z.object({
  NODE_ENV: z.enum(NODE_ENVS, { message: oneOf(NODE_ENVS) }).default('development'),
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  APP_ROLE: z.enum(APP_ROLES, { message: oneOf(APP_ROLES) }).default('all'),
  /** Identifies this replica in locks, leases and logs; defaults to hostname-pid. */
  INSTANCE_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/).optional(),
  DATABASE_URL: url(['postgresql:', 'postgres:']),
  /**
   * Prepare frequent statements once per connection (named statements). Turn off behind a pooler
   * that cannot keep them (PgBouncer in transaction mode before 1.21, or without max_prepared_statements).
   */
  DATABASE_PREPARED_STATEMENTS: bool.default(true),
  REDIS_URL: url(['redis:', 'rediss:']),
  /** Prefix of every Redis key (BullMQ queues, locks, leases): lets several deployments or test files share one Redis. */
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'must match ^[A-Za-z0-9_-]{1,64}$' }).default('zaphub'),
  API_KEY: z
    .string()
    // abort: a short key gets one line, not a second one about its strength
    .min(16, { message: 'must be at least 16 characters', abort: true })
    .refine((v) => !isWeakApiKey(v), { message: 'is a placeholder or too easy to guess: generate one with openssl rand -base64 24' }),
  METRICS_TOKEN: z.string().min(1).optional(),
  /** How long a scrape waits for a gauge read from PostgreSQL or Redis before serving its last value (marked stale). */
  METRICS_SCRAPE_TIMEOUT_MS: int(10, 60_000).default(250),
  BODY_LIMIT: byteSize.default('16mb'),
  LOG_LEVEL: z.enum(LOG_LEVELS, { message: oneOf(LOG_LEVELS) }).default('info'),
  SHUTDOWN_TIMEOUT_MS: int(1000, 600_000).default(20_000),

  SANDBOX: bool.default(false),
  /** 0 = a random free port on loopback. */
  SANDBOX_PORT: int(0, 65535).default(0),
  /** Use an external sandbox (`npm run sandbox`) instead of starting one in-process; needs SANDBOX_ROOT_KEY. */
  SANDBOX_URL: url(['ws:', 'wss:']).optional(),
  /** Base64 test root public key printed by `npm run sandbox`. */
  SANDBOX_ROOT_KEY: z.string().regex(/^[A-Za-z0-9+/]+=*$/, { message: 'must be base64' }).optional(),
  /** Base64 of the PEM of an external sandbox's media CA (printed by `npm run sandbox`); a PEM as is is accepted too. */
  SANDBOX_MEDIA_CA: z.string().min(1).optional(),
  /** Delay before a fake contact sends the delivery receipt of what it received. */
  SANDBOX_DELIVERY_RECEIPT_MS: int(0, 600_000).default(100),
  /** Delay (after delivery) before a fake contact sends the read receipt. */
  SANDBOX_READ_RECEIPT_MS: int(0, 600_000).default(300),

  MAX_SESSIONS: int(1, 100_000).default(50),
  AUTH_STATE_KEY: authStateKey.optional(),
  /** The key AUTH_STATE_KEY replaced: still decrypts, and what it decrypts is re-encrypted with AUTH_STATE_KEY. */
  AUTH_STATE_KEY_PREVIOUS: authStateKey.optional(),
  RECONNECT_BASE_MS: int(10).default(2000),
  RECONNECT_MAX_MS: int(100).default(300_000),
  CIRCUIT_BREAKER_THRESHOLD: int(1, 1000).default(5),
  CIRCUIT_BREAKER_RESET_MS: int(100).default(300_000),
  SESSION_HEALTH_INTERVAL_MS: int(1000).default(30_000),
  STATUS_DEBOUNCE_MS: int(0).default(5000),
  SESSION_LEASE_TTL_MS: int(1000).default(30_000),
  /** How often each worker converges sessions on their rows (adopts orphans, closes stopped ones). */
  SESSION_RECONCILE_INTERVAL_MS: int(200, 600_000).default(5000),
  QR_MAX_ATTEMPTS: int(1, 100).default(5),

  DEFAULT_RATE_LIMIT_PER_MINUTE: int(1, 100_000).default(60),
  /** The window of the per-session rate limit (ms): a minute; shorter only for tests and demos. */
  RATE_LIMIT_WINDOW_MS: int(1000, 3_600_000).default(60_000),
  /** How often each worker looks for sendable messages of its sessions that no hint announced, and frees stale sends. */
  MESSAGE_RECONCILE_INTERVAL_MS: int(200, 600_000).default(5000),
  /**
   * How long a send waits for WhatsApp's server to acknowledge the message: without the ack in
   * time the attempt fails and is retried (same WhatsApp id, so a late first copy is dropped).
   */
  SEND_ACK_TIMEOUT_MS: int(100, 120_000).default(15_000),
  /** Above this many pending messages a session logs a warning (once per crossing); nothing is refused. */
  WARN_PENDING_PER_SESSION: int(1).default(500),
  /** Largest media file (bytes): a base64 body or a URL download larger than this is refused; a received file larger than this is not kept (FAILED). */
  MEDIA_MAX_BYTES: int(1, 2 ** 31 - 1).default(16 * 1024 * 1024),
  /** How long downloading a media URL may take before the attempt fails (and is retried). */
  MEDIA_FETCH_TIMEOUT_MS: int(100, 600_000).default(30_000),
  /** Directory of received media files (the local-disk media storage); shared by every replica when there are several. */
  MEDIA_DIR: z.string().min(1).default('./data/media'),
  HUMANIZE_ENABLED: bool.default(true),
  HUMANIZE_TYPING_MS_PER_CHAR: int(0).default(40),
  HUMANIZE_MIN_TYPING_MS: int(0).default(800),
  HUMANIZE_MAX_TYPING_MS: int(0).default(6000),
  HUMANIZE_CHAT_GAP_MS: int(0).default(1000),

  PENDING_TTL_HOURS: int(1).default(24),
  PROCESSED_RETENTION_MINUTES: int(1).default(60),
  HISTORY_RETENTION_DAYS: int(1).default(7),
  CLEANUP_PROCESSED_CRON: cron.default('*/30 * * * *'),
  /** Schedules of the other cleanup jobs (cron, evaluated in UTC); expire-pending also runs once at boot. */
  CLEANUP_EXPIRE_PENDING_CRON: cron.default('*/30 * * * *'),
  CLEANUP_HISTORY_CRON: cron.default('0 3 * * *'),
  CLEANUP_JOBS_CRON: cron.default('0 * * * *'),
  CLEANUP_FLOWS_CRON: cron.default('*/10 * * * *'),
  CLEANUP_SUMMARY_CRON: cron.default('*/15 * * * *'),
  /** Rows one cleanup DELETE statement removes at most (the jobs loop until a batch comes back short). */
  CLEANUP_BATCH_SIZE: int(100, 100_000).default(5000),
  FLOW_TTL_MS: int(1000).default(300_000),

  WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  /** Attempts per delivery before it is FAILED; with the default backoff 12 attempts span at least ~70 min. */
  WEBHOOK_MAX_ATTEMPTS: int(1, 100).default(12),
  /** Backoff of webhook retries: retry n waits a random time in [d/2, d], d = min(base * 2^(n-1), max). */
  WEBHOOK_RETRY_BASE_MS: int(10, 3_600_000).default(5000),
  WEBHOOK_RETRY_MAX_DELAY_MS: int(10, 86_400_000).default(3_600_000),
  /** How often a worker re-creates lost delivery triggers (due PENDING deliveries without a job). */
  WEBHOOK_RECONCILE_INTERVAL_MS: int(200, 600_000).default(10_000),
  /** A global webhook endpoint defined at boot (created, updated or removed to match); needs WEBHOOK_SECRET. */
  WEBHOOK_URL: webhookUrl.optional(),
  WEBHOOK_EVENTS: webhookEvents,
  WEBHOOK_SECRET: webhookSecret.optional(),
  /** After a secret rotation the old secret also signs for this long (0 = not at all). */
  WEBHOOK_SECRET_OVERLAP_HOURS: int(0, 8760).default(24),

  QUEUE_SESSION_INIT_CONCURRENCY: int(1, 1000).default(3),
  QUEUE_SESSION_INIT_ATTEMPTS: int(1, 100).default(3),
  QUEUE_SESSION_CLOSE_CONCURRENCY: int(1, 1000).default(3),
  QUEUE_SESSION_CLOSE_ATTEMPTS: int(1, 100).default(2),
  /**
   * Chats drained at once per worker, all sessions together. A drain mostly waits (typing, the
   * gap between a chat's messages, WhatsApp's ack, the rate limit), so this is high: at 5, five
   * humanized chats typing held every other session of the worker back; beyond ~32 the 2-core
   * bench machine is CPU-bound and more only queues sends inside Baileys (npm run bench:messages).
   */
  QUEUE_MESSAGE_SEND_CONCURRENCY: int(1, 1000).default(32),
  QUEUE_MESSAGE_SEND_ATTEMPTS: int(1, 100).default(5),
  QUEUE_MESSAGE_RECEIVE_CONCURRENCY: int(1, 1000).default(10),
  QUEUE_MESSAGE_RECEIVE_ATTEMPTS: int(1, 100).default(3),
  QUEUE_MESSAGE_STATUS_CONCURRENCY: int(1, 1000).default(5),
  QUEUE_MESSAGE_STATUS_ATTEMPTS: int(1, 100).default(3),
  QUEUE_WEBHOOK_DELIVERY_CONCURRENCY: int(1, 1000).default(16),
  QUEUE_MAINTENANCE_CLEANUP_CONCURRENCY: int(1, 1000).default(1),
  QUEUE_MEDIA_DOWNLOAD_CONCURRENCY: int(1, 1000).default(4),
  QUEUE_MEDIA_DOWNLOAD_ATTEMPTS: int(1, 100).default(5),

  /** Folder of the built dashboard page (`npm run build` writes dist/dashboard); default: the one beside the compiled app. */
  DASHBOARD_DIR: z.string().min(1).optional(),
  /** Lifetime of the browser session cookie (POST /api/auth/session), in seconds. */
  AUTH_SESSION_TTL_SECONDS: int(1, 30 * 86_400).default(43_200),
  /** Heartbeat comment interval of GET /api/events/stream. */
  EVENT_STREAM_HEARTBEAT_MS: int(10, 600_000).default(15_000),
  /** How often a live stream reads the event log without a wake-up hint (the backstop when a Redis hint is lost). */
  EVENT_STREAM_POLL_MS: int(50, 600_000).default(2000),
  /** A stream client that leaves written events unread this long is dropped (it resumes with Last-Event-ID). */
  EVENT_STREAM_SLOW_CLIENT_MS: int(10, 600_000).default(30_000),
});
type BaseConfig = z.infer<typeof baseConfigSchema>;

export interface CrossFieldRule {
  /** The variable the problem line names. */
  field: keyof BaseConfig;
  /** Every variable the rule reads. */
  uses: Array<keyof BaseConfig>;
  message: string;
  violated(c: BaseConfig): boolean;
}

/**
 * Rules across variables. load-config evaluates them even when unrelated
 * variables are invalid, so that every problem is reported in one go.
 */
export const crossFieldRules: CrossFieldRule[] = [
  {
    field: 'HUMANIZE_MIN_TYPING_MS',
    uses: ['HUMANIZE_MIN_TYPING_MS', 'HUMANIZE_MAX_TYPING_MS'],
    message: 'must be <= HUMANIZE_MAX_TYPING_MS',
    violated: (c) => c.HUMANIZE_MIN_TYPING_MS > c.HUMANIZE_MAX_TYPING_MS,
  },
  {
    field: 'WEBHOOK_RETRY_BASE_MS',
    uses: ['WEBHOOK_RETRY_BASE_MS', 'WEBHOOK_RETRY_MAX_DELAY_MS'],
    message: 'must be <= WEBHOOK_RETRY_MAX_DELAY_MS',
    violated: (c) => c.WEBHOOK_RETRY_BASE_MS > c.WEBHOOK_RETRY_MAX_DELAY_MS,
  },
  {
    field: 'RECONNECT_BASE_MS',
    uses: ['RECONNECT_BASE_MS', 'RECONNECT_MAX_MS'],
    message: 'must be <= RECONNECT_MAX_MS',
    violated: (c) => c.RECONNECT_BASE_MS > c.RECONNECT_MAX_MS,
  },
  {
    field: 'SANDBOX_ROOT_KEY',
    uses: ['SANDBOX_URL', 'SANDBOX_ROOT_KEY'],
    message: 'is required when SANDBOX_URL is set',
    violated: (c) => Boolean(c.SANDBOX_URL) && !c.SANDBOX_ROOT_KEY,
  },
  {
    field: 'AUTH_STATE_KEY_PREVIOUS',
    uses: ['AUTH_STATE_KEY', 'AUTH_STATE_KEY_PREVIOUS'],
    message: 'is set without AUTH_STATE_KEY: set the new key as AUTH_STATE_KEY (the previous one only decrypts)',
    violated: (c) => Boolean(c.AUTH_STATE_KEY_PREVIOUS) && !c.AUTH_STATE_KEY,
  },
  {
    field: 'AUTH_STATE_KEY_PREVIOUS',
    uses: ['AUTH_STATE_KEY', 'AUTH_STATE_KEY_PREVIOUS'],
    message: 'must differ from AUTH_STATE_KEY',
    violated: (c) =>
      Boolean(c.AUTH_STATE_KEY && c.AUTH_STATE_KEY_PREVIOUS) &&
      authStateKeyBytes(c.AUTH_STATE_KEY!).equals(authStateKeyBytes(c.AUTH_STATE_KEY_PREVIOUS!)),
  },
  {
    field: 'WEBHOOK_SECRET',
    uses: ['WEBHOOK_URL', 'WEBHOOK_SECRET'],
    message: 'is required when WEBHOOK_URL is set (whsec_ + base64 of 24 to 64 bytes: whsec_$(openssl rand -base64 32))',
    violated: (c) => Boolean(c.WEBHOOK_URL) && !c.WEBHOOK_SECRET,
  },
  {
    field: 'SANDBOX',
    uses: ['SANDBOX', 'NODE_ENV'],
    message: 'must not be true when NODE_ENV=production',
    violated: (c) => c.SANDBOX && c.NODE_ENV === 'production',
  },
];

export const configSchema = baseConfigSchema.superRefine((c, ctx) => {
  for (const rule of crossFieldRules) {
    if (rule.violated(c)) ctx.addIssue({ code: 'custom', path: [rule.field], message: rule.message });
  }
});

export type AppConfig = z.infer<typeof configSchema> & { INSTANCE_ID: string };
