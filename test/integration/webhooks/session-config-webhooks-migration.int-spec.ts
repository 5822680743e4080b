import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isWebhookSecret } from '../../../src/modules/webhooks/webhook-secret';
import { query } from '../../helpers/db-query';
import { createTestEnv, type TestEnv } from '../../helpers/test-env';

const MIGRATION = path.join(__dirname, '../../../prisma/migrations/20261205172000_session_config_webhooks_to_rows/migration.sql');

/**
 * The data migration that moves webhooks declared in sessions' config JSON
 * (stored before they became rows) into Webhook rows. Run on a database with
 * the whole schema, seeded as the JSON looked before.
 */
describe('migration: config.webhooks JSON → Webhook rows', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  it('creates one config-declared row per entry, keeps valid secrets, generates the rest, and strips secrets from the JSON', async () => {
    const valid = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const legacy = {
      humanize: { enabled: false },
      webhooks: [
        { url: 'https://a.example/hook', secret: valid, events: ['message.sent', 'session.status'] },
        { url: 'https://b.example/hook', secret: 'not-a-standard-secret' },
        { url: 'https://c.example/hook' },
        'garbage',
      ],
    };
    await query(env.databaseUrl, `INSERT INTO "Session" (id, name, config, "updatedAt") VALUES (gen_random_uuid(), 'legacy', $1, now()), (gen_random_uuid(), 'plain', '{}', now())`, [
      JSON.stringify(legacy),
    ]);
    await query(env.databaseUrl, readFileSync(MIGRATION, 'utf8'));

    const rows = await query<{ url: string; events: string[]; secret: string; fromSessionConfig: boolean; name: string }>(
      env.databaseUrl,
      'SELECT w.url, w.events, w.secret, w."fromSessionConfig", s.name FROM "Webhook" w JOIN "Session" s ON s.id = w."sessionId" ORDER BY w.url',
    );
    expect(rows.map((r) => [r.name, r.url, r.events, r.fromSessionConfig])).toEqual([
      ['legacy', 'https://a.example/hook', ['message.sent', 'session.status'], true],
      ['legacy', 'https://b.example/hook', ['*'], true],
      ['legacy', 'https://c.example/hook', ['*'], true],
    ]);
    expect(rows[0]!.secret).toBe(valid);
    for (const row of rows.slice(1)) expect(isWebhookSecret(row.secret)).toBe(true);
    expect(rows[1]!.secret).not.toBe(rows[2]!.secret);

    const [session] = await query<{ config: typeof legacy }>(env.databaseUrl, `SELECT config FROM "Session" WHERE name = 'legacy'`);
    expect(session!.config).toEqual({
      humanize: { enabled: false },
      webhooks: [{ url: 'https://a.example/hook', events: ['message.sent', 'session.status'] }, { url: 'https://b.example/hook' }, { url: 'https://c.example/hook' }, 'garbage'],
    });
    const [plain] = await query<{ config: unknown }>(env.databaseUrl, `SELECT config FROM "Session" WHERE name = 'plain'`);
    expect(plain!.config).toEqual({});
  });
});
