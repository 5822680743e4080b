import { plainToInstance } from 'class-transformer';
import { ValidationError } from '../../common/errors/domain-errors';
import { parseConfig, type AppConfig } from '../../config';
import { assertValidSessionConfig, mergeSessionConfig, newSessionConfig } from './session-config';
import type { StoredSessionConfig } from './session.types';
import { effectiveConfig } from './session.view';
import { HumanizeDto, SessionConfigDto, WebhookInputDto } from './sessions.dto';

const ENV = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/zaphub', REDIS_URL: 'redis://127.0.0.1:6379', API_KEY: 'test-api-key-0123456789abcdef' };
/** Env defaults: humanize 40/800/6000/1000, 60 per minute. */
const defaults: AppConfig = parseConfig(ENV);

/** A DTO as the ValidationPipe hands it over (class-transformer instances: unset fields exist with value undefined). */
function dto(plain: { humanize?: Partial<HumanizeDto>; rateLimitPerMinute?: number; webhooks?: Partial<WebhookInputDto>[] }): SessionConfigDto {
  const config = plainToInstance(SessionConfigDto, plain);
  expect(config.humanize === undefined || config.humanize instanceof HumanizeDto).toBe(true);
  return config;
}

function validationError(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('no ValidationError thrown');
}

describe('mergeSessionConfig', () => {
  const stored: StoredSessionConfig = {
    humanize: { enabled: false, minTypingMs: 100 },
    rateLimitPerMinute: 30,
    webhooks: [{ url: 'https://a.test/hook', events: ['message.sent'] }],
  };

  it('checks the defaults it relies on', () => {
    expect(defaults).toMatchObject({ HUMANIZE_MIN_TYPING_MS: 800, HUMANIZE_MAX_TYPING_MS: 6000, DEFAULT_RATE_LIMIT_PER_MINUTE: 60 });
  });

  it('merges humanize field by field, keeping the stored fields not sent', () => {
    const patch = dto({ humanize: { chatGapMs: 50 } });
    // The trap of a plain spread: the DTO instance has every field, unset ones undefined.
    expect(Object.keys(patch.humanize!)).toContain('minTypingMs');
    expect({ ...stored.humanize, ...patch.humanize }.minTypingMs).toBeUndefined();
    const merged = mergeSessionConfig(stored, patch, defaults);
    expect(merged).toEqual({ ...stored, humanize: { enabled: false, minTypingMs: 100, chatGapMs: 50 } });
    expect(JSON.parse(JSON.stringify(merged))).toEqual(merged); // plain JSON: no undefined values, no class instances
    expect(Object.getPrototypeOf(merged.humanize)).toBe(Object.prototype);
  });

  it('replaces rateLimitPerMinute and webhooks when sent, and leaves what is not sent', () => {
    const merged = mergeSessionConfig(stored, dto({ rateLimitPerMinute: 5, webhooks: [{ url: 'https://b.test/hook' }] }), defaults);
    expect(merged).toEqual({ humanize: stored.humanize, rateLimitPerMinute: 5, webhooks: [{ url: 'https://b.test/hook' }] });
    expect(mergeSessionConfig(stored, dto({ webhooks: [] }), defaults).webhooks).toEqual([]);
    expect(mergeSessionConfig(stored, dto({}), defaults)).toEqual(stored);
    expect(mergeSessionConfig({}, dto({}), defaults)).toEqual({});
  });

  it('does not modify its arguments', () => {
    const before = JSON.parse(JSON.stringify(stored));
    const patch = dto({ humanize: { maxTypingMs: 200 }, webhooks: [{ url: 'https://b.test/hook', events: ['*'] }] });
    const merged = mergeSessionConfig(stored, patch, defaults);
    merged.humanize!.minTypingMs = 1;
    merged.webhooks![0].events!.push('x');
    expect(stored).toEqual(before);
    expect(patch.webhooks![0].events).toEqual(['*']);
  });

  it('refuses minTypingMs above the default maxTypingMs, naming minTypingMs', () => {
    const error = validationError(() => mergeSessionConfig({}, dto({ humanize: { minTypingMs: 6001 } }), defaults));
    expect(error.details).toEqual([{ field: 'config.humanize.minTypingMs', message: 'minTypingMs (6001) must be less than or equal to maxTypingMs (6000)' }]);
    expect(error.message).toBe('Invalid config: minTypingMs (6001) must be less than or equal to maxTypingMs (6000)');
    expect(error.statusCode).toBe(400);
  });

  it('refuses minTypingMs above the stored maxTypingMs', () => {
    const error = validationError(() => mergeSessionConfig({ humanize: { maxTypingMs: 800 } }, dto({ humanize: { minTypingMs: 900 } }), defaults));
    expect(error.details).toEqual([{ field: 'config.humanize.minTypingMs', message: 'minTypingMs (900) must be less than or equal to maxTypingMs (800)' }]);
  });

  it('refuses maxTypingMs below the effective minTypingMs, naming maxTypingMs', () => {
    expect(validationError(() => mergeSessionConfig({}, dto({ humanize: { maxTypingMs: 500 } }), defaults)).details).toEqual([
      { field: 'config.humanize.maxTypingMs', message: 'maxTypingMs (500) must be greater than or equal to minTypingMs (800)' },
    ]);
    expect(validationError(() => mergeSessionConfig({ humanize: { minTypingMs: 3000 } }, dto({ humanize: { maxTypingMs: 2000 } }), defaults)).details).toEqual([
      { field: 'config.humanize.maxTypingMs', message: 'maxTypingMs (2000) must be greater than or equal to minTypingMs (3000)' },
    ]);
  });

  it('accepts min equal to max, and a pair that moves both past the old bounds', () => {
    expect(mergeSessionConfig({}, dto({ humanize: { minTypingMs: 6000 } }), defaults).humanize).toEqual({ minTypingMs: 6000 });
    const moved = mergeSessionConfig({ humanize: { minTypingMs: 100, maxTypingMs: 200 } }, dto({ humanize: { minTypingMs: 7000, maxTypingMs: 9000 } }), defaults);
    expect(moved.humanize).toEqual({ minTypingMs: 7000, maxTypingMs: 9000 });
    expect(effectiveConfig({ config: moved }, defaults).humanize).toMatchObject({ minTypingMs: 7000, maxTypingMs: 9000 });
  });

  it('refuses a merge that leaves a stored min above max even when the patch is about something else', () => {
    // Possible when the env defaults changed under a stored value (HUMANIZE_MAX_TYPING_MS lowered).
    const error = validationError(() => mergeSessionConfig({ humanize: { minTypingMs: 7000 } }, dto({ rateLimitPerMinute: 10 }), defaults));
    expect(error.details).toEqual([{ field: 'config.humanize.minTypingMs', message: 'minTypingMs (7000) must be less than or equal to maxTypingMs (6000)' }]);
  });

  it('uses the env defaults it is given', () => {
    const slow = parseConfig({ ...ENV, HUMANIZE_MIN_TYPING_MS: '100', HUMANIZE_MAX_TYPING_MS: '200' });
    expect(() => mergeSessionConfig({}, dto({ humanize: { minTypingMs: 150 } }), slow)).not.toThrow();
    expect(validationError(() => mergeSessionConfig({}, dto({ humanize: { minTypingMs: 250 } }), slow)).details?.[0].message).toBe(
      'minTypingMs (250) must be less than or equal to maxTypingMs (200)',
    );
  });

  it('drops shapes a stored config may hold from before input validation (humanize [], a config array)', () => {
    expect(mergeSessionConfig({ humanize: [] as unknown as StoredSessionConfig['humanize'], rateLimitPerMinute: 5 }, dto({}), defaults)).toEqual({ rateLimitPerMinute: 5 });
    expect(mergeSessionConfig([] as unknown as StoredSessionConfig, dto({ rateLimitPerMinute: 7 }), defaults)).toEqual({ rateLimitPerMinute: 7 });
  });
});

describe('newSessionConfig', () => {
  it('stores what was sent, as plain JSON', () => {
    const config = newSessionConfig(dto({ humanize: { enabled: false }, webhooks: [{ url: 'https://a.test/hook', secret: 'whsec_a' }] }), defaults);
    // The secret goes to the webhook row (sealed), never into the config.
    expect(config).toEqual({ humanize: { enabled: false }, webhooks: [{ url: 'https://a.test/hook' }] });
    expect(newSessionConfig(undefined, defaults)).toEqual({});
  });

  it('checks the body against the env defaults for what it does not send', () => {
    expect(validationError(() => newSessionConfig(dto({ humanize: { minTypingMs: 7000 } }), defaults)).details).toEqual([
      { field: 'config.humanize.minTypingMs', message: 'minTypingMs (7000) must be less than or equal to maxTypingMs (6000)' },
    ]);
    expect(validationError(() => newSessionConfig(dto({ humanize: { maxTypingMs: 100 } }), defaults)).details?.[0].field).toBe('config.humanize.maxTypingMs');
  });
});

describe('assertValidSessionConfig', () => {
  it('passes a valid effective config and the defaults alone', () => {
    expect(() => assertValidSessionConfig({}, defaults)).not.toThrow();
    expect(() => assertValidSessionConfig({ humanize: { minTypingMs: 0, maxTypingMs: 0 } }, defaults)).not.toThrow();
  });
});
