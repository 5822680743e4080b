import { randomBytes, randomUUID } from 'node:crypto';
import type { AppConfig } from '../../../src/config';
import { LifecycleService } from '../../../src/infra/lifecycle/lifecycle.service';
import { MetricsRegistry } from '../../../src/infra/metrics/metrics.registry';
import { PrismaService } from '../../../src/infra/prisma/prisma.service';
import { ENV_MANAGED, ENV_WEBHOOK_TASK, EnvWebhookConfigError, EnvWebhookTask } from '../../../src/modules/webhooks/env-webhook.task';
import { OutboundUrlGuard } from '../../../src/infra/outbound-url/outbound-url-guard';
import { WebhookMetrics } from '../../../src/modules/webhooks/webhook-metrics';
import { WebhookSecretCipher } from '../../../src/modules/webhooks/webhook-secret-cipher';
import { WEBHOOK_SECRET_SEAL_TASK, WebhookSecretSealTask } from '../../../src/modules/webhooks/webhook-secret-seal.task';
import { WebhookRepository } from '../../../src/modules/webhooks/webhook.repository';
import { COMPILED_MAIN, runNode } from '../../helpers/compiled-app';
import { query } from '../../helpers/db-query';
import { createTestEnv, type TestEnv } from '../../helpers/test-env';

const secretOf = () => `whsec_${randomBytes(32).toString('base64')}`;
const newKey = () => randomBytes(32).toString('base64');

interface Row {
  id: string;
  url: string;
  events: string[];
  status: string;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  secretRotatedAt: Date | null;
  managedBy: string | null;
}

/**
 * What happens to webhook rows at boot, on real PostgreSQL: the endpoint
 * WEBHOOK_URL defines (created once by any number of replicas, updated,
 * rotated, removed) and the encryption of stored secrets once AUTH_STATE_KEY
 * is set. Several PrismaClients stand for several replicas.
 */
describe('webhooks at boot (PostgreSQL)', () => {
  let env: TestEnv;
  const clients: PrismaService[] = [];

  beforeEach(async () => {
    env = await createTestEnv();
  });
  afterEach(async () => {
    while (clients.length) await clients.pop()!.disconnect();
    await env?.cleanup();
  });

  const rows = () => query<Row>(env.databaseUrl, 'SELECT * FROM "Webhook" ORDER BY "createdAt", id');

  function replica(overrides: Partial<AppConfig>) {
    const config = { ...env.config, ...overrides } as AppConfig;
    const prisma = new PrismaService(config);
    clients.push(prisma);
    const repository = new WebhookRepository(prisma);
    const cipher = WebhookSecretCipher.fromConfig(config.AUTH_STATE_KEY, config.AUTH_STATE_KEY_PREVIOUS);
    const lifecycle = new LifecycleService();
    const metrics = new WebhookMetrics(new MetricsRegistry(), repository);
    const guard = new OutboundUrlGuard({ allowPrivate: config.WEBHOOK_ALLOW_PRIVATE });
    return {
      repository,
      cipher,
      lifecycle,
      env: new EnvWebhookTask(config, repository, metrics, lifecycle, guard, cipher),
      seal: new WebhookSecretSealTask(cipher, repository, lifecycle),
    };
  }

  describe('the WEBHOOK_URL endpoint', () => {
    const base = { WEBHOOK_URL: 'http://127.0.0.1:9/hook', WEBHOOK_EVENTS: ['session.status'], WEBHOOK_ALLOW_PRIVATE: true } satisfies Partial<AppConfig>;

    it('is created exactly once by six replicas syncing at once, and they agree afterwards', async () => {
      const secret = secretOf();
      const replicas = Array.from({ length: 6 }, () => replica({ ...base, WEBHOOK_SECRET: secret }));
      const outcomes = await Promise.all(replicas.map((r) => r.env.sync()));
      expect(outcomes.filter((o) => o === 'created')).toHaveLength(1);
      expect(outcomes.filter((o) => o !== 'created')).toEqual(Array(5).fill('unchanged'));
      const [row, ...others] = await rows();
      expect(others).toEqual([]);
      expect(row).toMatchObject({ managedBy: ENV_MANAGED, url: base.WEBHOOK_URL, events: ['session.status'], status: 'ACTIVE', secret, previousSecret: null });
      expect(await replicas[0]!.env.sync()).toBe('unchanged');
    });

    it('follows a changed URL or event list, re-activating a disabled endpoint, without touching the secret', async () => {
      const secret = secretOf();
      await replica({ ...base, WEBHOOK_SECRET: secret }).env.sync();
      await query(env.databaseUrl, `UPDATE "Webhook" SET status = 'DISABLED'`);
      const changed = replica({ ...base, WEBHOOK_SECRET: secret, WEBHOOK_URL: 'http://127.0.0.1:9/v2', WEBHOOK_EVENTS: ['message.sent', 'message.sent', 'session.qr'] });
      expect(await changed.env.sync()).toBe('updated');
      const [row] = await rows();
      expect(row).toMatchObject({ url: 'http://127.0.0.1:9/v2', events: ['message.sent', 'session.qr'], status: 'ACTIVE', secret, previousSecret: null, secretRotatedAt: null });
    });

    it('treats a changed WEBHOOK_SECRET as a rotation: the old secret signs on for WEBHOOK_SECRET_OVERLAP_HOURS', async () => {
      const key = newKey();
      const [first, second, third] = [secretOf(), secretOf(), secretOf()];
      await replica({ ...base, WEBHOOK_SECRET: first, AUTH_STATE_KEY: key }).env.sync();
      const [created] = await rows();

      const before = Date.now();
      const rotating = [1, 2, 3].map(() => replica({ ...base, WEBHOOK_SECRET: second, AUTH_STATE_KEY: key, WEBHOOK_SECRET_OVERLAP_HOURS: 2 }));
      const outcomes = await Promise.all(rotating.map((r) => r.env.sync()));
      expect(outcomes.sort()).toEqual(['unchanged', 'unchanged', 'updated']);
      const [rotated] = await rows();
      const cipher = rotating[0]!.cipher;
      expect(rotated!.id).toBe(created!.id);
      expect(cipher.decrypt(rotated!.secret, rotated!.id)).toBe(second);
      expect(rotated!.previousSecret).toBe(created!.secret); // moved as stored, still encrypted
      expect(cipher.decrypt(rotated!.previousSecret!, rotated!.id)).toBe(first);
      expect(rotated!.previousSecretExpiresAt!.getTime()).toBeGreaterThanOrEqual(before + 2 * 3_600_000);
      expect(rotated!.previousSecretExpiresAt!.getTime()).toBeLessThanOrEqual(Date.now() + 2 * 3_600_000);
      expect(rotated!.secretRotatedAt).not.toBeNull();

      expect(await replica({ ...base, WEBHOOK_SECRET: third, AUTH_STATE_KEY: key, WEBHOOK_SECRET_OVERLAP_HOURS: 0 }).env.sync()).toBe('updated');
      const [noOverlap] = await rows();
      expect(cipher.decrypt(noOverlap!.secret, noOverlap!.id)).toBe(third);
      expect(noOverlap).toMatchObject({ previousSecret: null, previousSecretExpiresAt: null });
    });

    it('replaces a secret no configured key can read, keeping nothing of it', async () => {
      await replica({ ...base, WEBHOOK_SECRET: secretOf(), AUTH_STATE_KEY: newKey() }).env.sync();
      const secret = secretOf();
      const other = replica({ ...base, WEBHOOK_SECRET: secret, AUTH_STATE_KEY: newKey() });
      expect(await other.env.sync()).toBe('updated');
      const [row] = await rows();
      expect(other.cipher.decrypt(row!.secret, row!.id)).toBe(secret);
      expect(row!.previousSecret).toBeNull();
    });

    it('is removed once WEBHOOK_URL is unset, leaving other endpoints alone', async () => {
      const sync = replica({ ...base, WEBHOOK_SECRET: secretOf() });
      await sync.env.sync();
      await sync.repository.create({ id: randomUUID(), sessionId: null, url: 'http://127.0.0.1:9/api-made', events: ['*'], secret: secretOf() });
      const unset = replica({ WEBHOOK_URL: undefined, WEBHOOK_SECRET: undefined });
      expect(await unset.env.sync()).toBe('removed');
      expect((await rows()).map((r) => [r.url, r.managedBy])).toEqual([['http://127.0.0.1:9/api-made', null]]);
      expect(await unset.env.sync()).toBe('absent');
    });

    it('stops boot on unknown event types or a refused address, naming the variable and never the secret', async () => {
      const secret = secretOf();
      const unknown = replica({ ...base, WEBHOOK_SECRET: secret, WEBHOOK_EVENTS: ['message.sent', 'message.deleted'] });
      await expect(unknown.env.onApplicationBootstrap()).rejects.toThrow(
        new EnvWebhookConfigError(
          'WEBHOOK_EVENTS names unknown event types (message.deleted): use * or some of session.status, session.qr, message.received, message.sent, message.delivered, message.read, message.failed, message.expired, message.media, message.reaction, message.edited, message.revoked, webhook.test',
        ),
      );
      const refused = replica({ ...base, WEBHOOK_SECRET: secret, WEBHOOK_ALLOW_PRIVATE: false });
      const error = (await refused.env.onApplicationBootstrap().catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(EnvWebhookConfigError);
      expect(error.message).toBe('WEBHOOK_URL must not point to 127.0.0.1: it is a loopback address (WEBHOOK_ALLOW_PRIVATE=true allows it)');
      expect(await rows()).toEqual([]);
      expect(refused.lifecycle.startupPending).toContain(ENV_WEBHOOK_TASK);
    });

    it('registers a name that does not resolve yet (deliveries check again), and completes the startup task', async () => {
      const pending = replica({ ...base, WEBHOOK_URL: 'https://hooks.zaphub-test.invalid/x', WEBHOOK_SECRET: secretOf(), WEBHOOK_ALLOW_PRIVATE: false });
      expect(pending.lifecycle.startupPending).toContain(ENV_WEBHOOK_TASK);
      await pending.env.onApplicationBootstrap();
      expect(pending.lifecycle.startupPending).not.toContain(ENV_WEBHOOK_TASK);
      expect((await rows()).map((r) => r.url)).toEqual(['https://hooks.zaphub-test.invalid/x']);
    });
  });

  describe('secrets at rest once AUTH_STATE_KEY is set', () => {
    it('encrypts plain secrets and those under AUTH_STATE_KEY_PREVIOUS, current and previous, bound to their webhook', async () => {
      const oldKey = newKey();
      const key = newKey();
      const plain = replica({});
      const old = replica({ AUTH_STATE_KEY: oldKey });
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      const secrets = ids.map(() => secretOf());
      await plain.repository.create({ id: ids[0]!, sessionId: null, url: 'http://a', events: ['*'], secret: secrets[0]! });
      await old.repository.create({ id: ids[1]!, sessionId: null, url: 'http://b', events: ['*'], secret: old.cipher.encrypt(secrets[1]!, ids[1]!) });
      const previousPlain = secretOf();
      await query(env.databaseUrl, 'UPDATE "Webhook" SET "previousSecret" = $1 WHERE id = $2', [previousPlain, ids[1]]);

      const current = replica({ AUTH_STATE_KEY: key, AUTH_STATE_KEY_PREVIOUS: oldKey });
      await current.repository.create({ id: ids[2]!, sessionId: null, url: 'http://c', events: ['*'], secret: current.cipher.encrypt(secrets[2]!, ids[2]!) });
      const untouched = (await rows()).find((r) => r.id === ids[2])!.secret;

      expect(current.lifecycle.startupPending).toContain(WEBHOOK_SECRET_SEAL_TASK);
      const report = await current.seal.run();
      expect(report).toEqual({ resealed: 2, changedMeanwhile: 0, unreadable: [], unreadableCount: 0, stopped: false });
      const byId = new Map((await rows()).map((r) => [r.id, r]));
      for (const [i, id] of ids.entries()) {
        const row = byId.get(id)!;
        expect(row.secret.startsWith(current.cipher.currentPrefix!)).toBe(true);
        expect(current.cipher.open(row.secret, id)).toEqual({ plain: secrets[i], stale: false });
      }
      expect(byId.get(ids[2]!)!.secret).toBe(untouched);
      expect(current.cipher.decrypt(byId.get(ids[1]!)!.previousSecret!, ids[1]!)).toBe(previousPlain);
      expect(await current.seal.run()).toMatchObject({ resealed: 0, unreadableCount: 0 });

      // A key that cannot read them: counted and named, left as they are.
      const stranger = replica({ AUTH_STATE_KEY: newKey() });
      const lost = await stranger.seal.run();
      expect(lost).toMatchObject({ resealed: 0, unreadableCount: 3 });
      expect([...lost.unreadable].sort()).toEqual([...ids].sort());
    });

    it('does nothing without a key', async () => {
      const plain = replica({});
      expect(plain.lifecycle.startupPending).not.toContain(WEBHOOK_SECRET_SEAL_TASK);
      await plain.repository.create({ id: randomUUID(), sessionId: null, url: 'http://a', events: ['*'], secret: secretOf() });
      expect(await plain.seal.run()).toMatchObject({ resealed: 0 });
    });
  });
});

describe('boot of the compiled service with a refused WEBHOOK_URL', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  it('exits 1 with one line naming WEBHOOK_URL and the address class, and no secret', async () => {
    const secret = secretOf();
    const proc = runNode(COMPILED_MAIN, { ...env.env, WEBHOOK_URL: 'http://169.254.169.254/latest', WEBHOOK_SECRET: secret, LOG_LEVEL: 'silent' });
    const exit = await proc.exited;
    expect(exit.code).toBe(1);
    expect(proc.stderr().trimEnd().split('\n').pop()).toBe(
      'ZapHub failed to start: WEBHOOK_URL must not point to 169.254.169.254: it is a link-local (where cloud metadata services live) address (WEBHOOK_ALLOW_PRIVATE=true allows it)',
    );
    expect(proc.output()).not.toContain(secret.slice(6));
  });
});
