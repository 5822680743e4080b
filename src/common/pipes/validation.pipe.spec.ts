import type { ArgumentMetadata } from '@nestjs/common';
import { FailedJobsQueryDto, CleanQueueDto } from '../../modules/queues-admin/queues-admin.dto';
import { FaultsDto, ScanDto } from '../../modules/sandbox/sandbox.dto';
import { CreateSessionDto, PairingCodeDto, PatchSessionDto } from '../../modules/sessions/sessions.dto';
import { ValidationError } from '../errors/domain-errors';
import { createValidationPipe } from './validation.pipe';

/** The global pipe with the real DTOs: what passes, what is refused, and which field the error names. */
const pipe = createValidationPipe();

async function run(metatype: ArgumentMetadata['metatype'], value: unknown, type: ArgumentMetadata['type'] = 'body') {
  try {
    return { ok: (await pipe.transform(value, { type, metatype })) as Record<string, unknown> };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return { error };
  }
}

const fieldsOf = (details: { field?: string }[]) => [...new Set(details.map((d) => d.field))];

async function refused(metatype: ArgumentMetadata['metatype'], value: unknown, type: ArgumentMetadata['type'] = 'body') {
  const result = await run(metatype, value, type);
  if (!result.error) throw new Error(`accepted ${JSON.stringify(value)}`);
  return result.error.details ?? [];
}

describe('validation pipe', () => {
  describe('POST /api/sessions body', () => {
    it.each([
      [{ name: 'a', config: [] }, 'config', 'config must be an object, not an array'],
      [{ name: 'a', config: [{ rateLimitPerMinute: 5 }] }, 'config', 'config must be an object, not an array'],
      [{ name: 'a', config: null }, 'config', 'config must be an object, not null'],
      [{ name: 'a', config: 'x' }, 'config', 'config must be an object, not a string'],
      [{ name: 'a', config: 7 }, 'config', 'config must be an object, not a number'],
      [{ name: 'a', config: true }, 'config', 'config must be an object, not a boolean'],
      [{ name: 'a', config: { humanize: [] } }, 'config.humanize', 'humanize must be an object, not an array'],
      [{ name: 'a', config: { humanize: null } }, 'config.humanize', 'humanize must be an object, not null'],
      [{ name: 'a', config: { humanize: 'fast' } }, 'config.humanize', 'humanize must be an object, not a string'],
      [{ name: 'a', config: { webhooks: {} } }, 'config.webhooks', 'webhooks must be an array, not an object'],
      [{ name: 'a', config: { webhooks: 'https://x.test' } }, 'config.webhooks', 'webhooks must be an array, not a string'],
      [{ name: 'a', config: { webhooks: null } }, 'config.webhooks', 'webhooks must be an array, not null'],
      [{ name: 'a', config: { webhooks: [[]] } }, 'config.webhooks', 'webhooks.0 must be an object, not an array'],
      [{ name: 'a', config: { webhooks: [{ url: 'https://x.test' }, 'https://y.test'] } }, 'config.webhooks', 'webhooks.1 must be an object, not a string'],
      [{ name: 'a', config: { webhooks: Array.from({ length: 21 }, () => ({ url: 'https://x.test' })) } }, 'config.webhooks', 'webhooks must contain at most 20 items, not 21'],
    ])('%j: one error naming %s', async (body, field, message) => {
      expect(await refused(CreateSessionDto, body)).toEqual([{ field, message }]);
    });

    it.each([
      [{ name: 'a', start: 'true' }, 'start'],
      [{ name: 'a', start: null }, 'start'],
      [{ name: 'a', start: 1 }, 'start'],
      [{ name: 42 }, 'name'],
      [{ name: null }, 'name'],
      [{ name: ['a'] }, 'name'],
      [{}, 'name'],
      [{ name: 'a', config: { rateLimitPerMinute: '60' } }, 'config.rateLimitPerMinute'],
      [{ name: 'a', config: { rateLimitPerMinute: null } }, 'config.rateLimitPerMinute'],
      [{ name: 'a', config: { rateLimitPerMinute: 1.5 } }, 'config.rateLimitPerMinute'],
      [{ name: 'a', config: { humanize: { enabled: 'false' } } }, 'config.humanize.enabled'],
      [{ name: 'a', config: { humanize: { minTypingMs: '800' } } }, 'config.humanize.minTypingMs'],
      [{ name: 'a', config: { humanize: { chatGapMs: null } } }, 'config.humanize.chatGapMs'],
      [{ name: 'a', config: { humanize: { minTypingMs: 900, maxTypingMs: 800 } } }, 'config.humanize.minTypingMs'],
      [{ name: 'a', config: { webhooks: [{ url: 'ftp://x.test' }] } }, 'config.webhooks.0.url'],
      [{ name: 'a', config: { webhooks: [{ url: 'https://x.test', events: 'message.sent' }] } }, 'config.webhooks.0.events'],
      [{ name: 'a', config: { webhooks: [{ url: 'https://x.test', secret: null }] } }, 'config.webhooks.0.secret'],
    ])('%j: names %s', async (body, field) => {
      const details = await refused(CreateSessionDto, body);
      expect([...new Set(details.map((d) => d.field))]).toEqual([field]);
    });

    it.each([
      [{ name: 'a', surprise: 1 }, 'surprise'],
      [{ name: 'a', config: { surprise: 1 } }, 'config.surprise'],
      [{ name: 'a', config: { humanize: { foo: 1 } } }, 'config.humanize.foo'],
      [{ name: 'a', config: { webhooks: [{ url: 'https://x.test', foo: 1 }] } }, 'config.webhooks.0.foo'],
      [{ name: 'a', config: { webhooks: [{ url: 'https://x.test' }, { url: 'https://y.test', headers: {} }] } }, 'config.webhooks.1.headers'],
    ])('unknown field %j: names %s', async (body, field) => {
      expect(await refused(CreateSessionDto, body)).toEqual([{ field, message: `property ${field.split('.').pop()} should not exist` }]);
    });

    it('reports every bad field of one body', async () => {
      const details = await refused(CreateSessionDto, { name: 'has space', start: 'yes', config: { humanize: [], rateLimitPerMinute: 0, extra: true } });
      expect([...new Set(details.map((d) => d.field))].sort()).toEqual(['config.extra', 'config.humanize', 'config.rateLimitPerMinute', 'name', 'start']);
    });

    it('accepts a full valid body and keeps the values as sent', async () => {
      const body = {
        name: 'sales-1',
        start: false,
        config: {
          humanize: { enabled: false, typingMsPerChar: 0, minTypingMs: 0, maxTypingMs: 0, chatGapMs: 10 },
          rateLimitPerMinute: 100000,
          webhooks: [{ url: 'https://x.test/hook', events: ['message.sent'], secret: 'whsec_abc' }],
        },
      };
      const { ok } = await run(CreateSessionDto, body);
      expect(JSON.parse(JSON.stringify(ok))).toEqual(body);
      expect((await run(CreateSessionDto, { name: 'a' })).ok).toBeDefined();
      expect((await run(CreateSessionDto, { name: 'a', config: {} })).ok).toBeDefined();
    });
  });

  describe('PATCH /api/sessions/:name body', () => {
    it.each([
      [{}, 'config is required'],
      [{ config: [] }, 'config must be an object, not an array'],
      [{ config: null }, 'config must be an object, not null'],
      [{ config: 'x' }, 'config must be an object, not a string'],
    ])('%j: names config', async (body, message) => {
      expect(await refused(PatchSessionDto, body)).toEqual([{ field: 'config', message }]);
    });

    it('names unknown fields at every depth', async () => {
      expect(await refused(PatchSessionDto, { config: {}, name: 'b' })).toEqual([{ field: 'name', message: 'property name should not exist' }]);
      expect((await refused(PatchSessionDto, { config: { humanize: { foo: 1 } } })).map((d) => d.field)).toEqual(['config.humanize.foo']);
    });

    it('accepts an empty config (nothing changes) and a partial humanize', async () => {
      expect((await run(PatchSessionDto, { config: {} })).ok).toBeDefined();
      expect((await run(PatchSessionDto, { config: { humanize: { minTypingMs: 900 } } })).ok).toBeDefined();
    });
  });

  describe('POST /api/sessions/:name/pairing-code body', () => {
    it.each(['+55 11 99999-8888', '5511999998888', '+1 (555) 010-0123', '1234567', '123456789012345'])('accepts %j', async (phoneNumber) => {
      expect((await run(PairingCodeDto, { phoneNumber })).ok).toEqual({ phoneNumber });
    });

    it.each([['abc'], ['12 34 56'], ['123456'], ['1234567890123456'], ['+55 11 99999-8888 0000'], ['55.11.9999.8888'], [5511999998888], [null], [undefined]])(
      'refuses %j naming phoneNumber',
      async (phoneNumber) => {
        const details = await refused(PairingCodeDto, phoneNumber === undefined ? {} : { phoneNumber });
        expect([...new Set(details.map((d) => d.field))]).toEqual(['phoneNumber']);
        expect(details.map((d) => d.message)).toContain('phoneNumber must be an international phone number: 7 to 15 digits with the country code, optionally with a leading +, spaces, dashes or parentheses');
      },
    );
  });

  describe('sandbox and queue admin DTOs', () => {
    it('refuses null where a value belongs, accepts a missing one', async () => {
      expect(fieldsOf(await refused(FaultsDto, { latencyMs: null }))).toEqual(['latencyMs']);
      expect(fieldsOf(await refused(FaultsDto, { refuseConnections: 'true' }))).toEqual(['refuseConnections']);
      expect(fieldsOf(await refused(ScanDto, { phone: null }))).toContain('phone');
      expect((await run(FaultsDto, {})).ok).toBeDefined();
      expect((await run(ScanDto, {})).ok).toBeDefined();
      expect(fieldsOf(await refused(CleanQueueDto, { olderThanMs: '1000', state: 'failed' }))).toEqual(['olderThanMs']);
    });

    it('reads the failed-jobs limit as a decimal integer only', async () => {
      expect((await run(FailedJobsQueryDto, { limit: '25' }, 'query')).ok).toEqual({ limit: 25 });
      expect((await run(FailedJobsQueryDto, {}, 'query')).ok).toEqual({});
      for (const limit of ['0x10', '1e2', ' 5', '', '2.5', 'ten', '0', '1001', ['1', '2']]) {
        expect(fieldsOf(await refused(FailedJobsQueryDto, { limit }, 'query'))).toEqual(['limit']);
      }
    });
  });
});
