import { ValidationError, type ErrorDetail } from '../../common/errors/domain-errors';
import type { AppConfig } from '../../config';
import type { HumanizeConfig, StoredSessionConfig, WebhookInput } from './session.types';
import { effectiveConfig, type SessionConfigView } from './session.view';
import type { HumanizeDto, SessionConfigDto, WebhookInputDto } from './sessions.dto';

/**
 * Session config rules that need more than one request body: what a PATCH
 * does to the stored config, and whether the EFFECTIVE result (stored values,
 * then env defaults, as `effectiveConfig` shows them) is valid. Pure: no I/O.
 *
 * The DTOs validate each field (types, ranges, unknown fields); this module
 * checks the rules that span fields whose values may come from elsewhere,
 * e.g. `{"humanize": {"minTypingMs": 900}}` against a stored or default
 * `maxTypingMs` of 800.
 */

const HUMANIZE_KEYS = ['enabled', 'typingMsPerChar', 'minTypingMs', 'maxTypingMs', 'chatGapMs'] as const satisfies readonly (keyof HumanizeConfig)[];

/**
 * The stored config after PATCH `{config: patch}`:
 * - `rateLimitPerMinute` and `webhooks`, when sent, replace the stored ones;
 * - `humanize` merges field by field (fields not sent keep their stored value);
 * - sections and fields not sent are left as stored (absent ones keep
 *   following the env defaults).
 * Returns a new plain object (no DTO instances, no `undefined` values), ready
 * to store.
 *
 * @throws ValidationError (400) naming the field when the effective merged
 * config breaks a rule (say minTypingMs > maxTypingMs).
 */
export function mergeSessionConfig(stored: StoredSessionConfig, patch: SessionConfigDto, defaults: AppConfig): StoredSessionConfig {
  const merged = copyStored(stored);
  if (patch.rateLimitPerMinute !== undefined) merged.rateLimitPerMinute = patch.rateLimitPerMinute;
  if (patch.webhooks !== undefined) merged.webhooks = patch.webhooks.map(copyWebhook);
  if (patch.humanize !== undefined) merged.humanize = { ...merged.humanize, ...definedHumanize(patch.humanize) };
  assertValidSessionConfig(merged, defaults, patch);
  return merged;
}

/**
 * The stored config of a new session (POST /api/sessions `config`): what the
 * client sent, checked against the env defaults for what it did not send
 * (`minTypingMs` 7000 with the default `maxTypingMs` 6000 is a 400).
 *
 * @throws ValidationError as `mergeSessionConfig`.
 */
export function newSessionConfig(config: SessionConfigDto | undefined, defaults: AppConfig): StoredSessionConfig {
  return mergeSessionConfig({}, config ?? {}, defaults);
}

/**
 * Checks the effective config (`stored` over the env `defaults`). `changed`
 * says what the request sent, to name the field the client can fix.
 *
 * @throws ValidationError with one detail per broken rule.
 */
export function assertValidSessionConfig(stored: StoredSessionConfig, defaults: AppConfig, changed: SessionConfigDto = {}): void {
  const problems = sessionConfigProblems(effectiveConfig({ config: stored }, defaults), changed);
  if (problems.length) throw new ValidationError(`Invalid config: ${problems.map((p) => p.message).join('; ')}`, problems);
}

function sessionConfigProblems(effective: SessionConfigView, changed: SessionConfigDto): ErrorDetail[] {
  const { minTypingMs: min, maxTypingMs: max } = effective.humanize;
  if (min <= max) return [];
  // Name the side the request changed: sending only maxTypingMs (below the
  // effective minimum) is a bad maxTypingMs; anything else a bad minTypingMs.
  const sentMax = changed.humanize?.maxTypingMs !== undefined;
  const sentMin = changed.humanize?.minTypingMs !== undefined;
  if (sentMax && !sentMin) {
    return [{ field: 'config.humanize.maxTypingMs', message: `maxTypingMs (${max}) must be greater than or equal to minTypingMs (${min})` }];
  }
  return [{ field: 'config.humanize.minTypingMs', message: `minTypingMs (${min}) must be less than or equal to maxTypingMs (${max})` }];
}

function definedHumanize(humanize: HumanizeDto): Partial<HumanizeConfig> {
  const out: Partial<HumanizeConfig> = {};
  for (const key of HUMANIZE_KEYS) {
    const value = humanize[key];
    if (value !== undefined && value !== null) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

/**
 * An inline webhook as the session's config keeps it, for the Session view:
 * url and events only. The endpoint itself (with its secret, sealed) is a
 * Webhook row written by the webhooks module; a secret never stays in the
 * config.
 */
function copyWebhook(webhook: WebhookInputDto | WebhookInput): WebhookInput {
  return { url: webhook.url, ...(webhook.events !== undefined ? { events: [...webhook.events] } : {}) };
}

/** A copy of the stored config, dropping shapes older versions could store by mistake (say `"humanize": []`). */
function copyStored(stored: StoredSessionConfig): StoredSessionConfig {
  const copy: StoredSessionConfig = {};
  if (!isObject(stored)) return copy;
  if (isObject(stored.humanize)) copy.humanize = definedHumanize(stored.humanize as HumanizeDto);
  if (stored.rateLimitPerMinute !== undefined && stored.rateLimitPerMinute !== null) copy.rateLimitPerMinute = stored.rateLimitPerMinute;
  if (Array.isArray(stored.webhooks)) copy.webhooks = stored.webhooks.filter((w) => isObject(w) && typeof w.url === 'string').map(copyWebhook);
  return copy;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
