import { hostname } from 'node:os';
import { baseConfigSchema, configSchema, crossFieldRules, type AppConfig } from './config.schema';

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

/**
 * Validates an environment map. Every problem is reported, one line each, so an
 * operator fixes them all in one go. Empty strings count as unset: container
 * templates often export `FOO=` for optional values.
 */
export function parseConfig(env: Record<string, string | undefined>): AppConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = configSchema.safeParse(cleaned);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = issue.path.join('.') || '(root)';
      const message = issue.code === 'invalid_type' && cleaned[key] === undefined ? 'is required' : issue.message;
      return `${key} ${message}`;
    });
    // Zod skips cross-field rules when a field is missing; evaluate them on the
    // fields they use (when those are valid) so every problem shows at once.
    for (const rule of crossFieldRules) {
      const values: Record<string, unknown> = {};
      const ok = rule.uses.every((field) => {
        const parsed = baseConfigSchema.shape[field].safeParse(cleaned[field]);
        values[field] = parsed.data;
        return parsed.success;
      });
      const line = `${rule.field} ${rule.message}`;
      if (ok && rule.violated(values as Parameters<typeof rule.violated>[0]) && !problems.includes(line)) problems.push(line);
    }
    throw new ConfigValidationError(problems);
  }
  return { ...result.data, INSTANCE_ID: result.data.INSTANCE_ID ?? `${hostname()}-${process.pid}` };
}

/** The one reader of process.env in the code base. */
export function loadConfig(): AppConfig {
  return parseConfig(process.env);
}
