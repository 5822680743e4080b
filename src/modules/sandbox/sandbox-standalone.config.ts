import { z } from 'zod';

/**
 * Settings of a standalone sandbox (`npm run sandbox`): the SANDBOX_* variables
 * of the app config that concern the network itself, plus where to listen.
 * A standalone sandbox needs no database, Redis or API key, so it does not go
 * through the full app config.
 */
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  /** 0 = a free port. */
  SANDBOX_PORT: int(0, 65535).default(0),
  /** Interface to listen on; keep loopback unless other machines must reach it (there is no authentication). */
  SANDBOX_HOST: z.string().min(1).default('127.0.0.1'),
  SANDBOX_DELIVERY_RECEIPT_MS: int(0, 600_000).default(100),
  SANDBOX_READ_RECEIPT_MS: int(0, 600_000).default(300),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type SandboxStandaloneConfig = z.infer<typeof schema>;

/** Validates the environment; throws an Error listing every problem, one per line. */
export function parseSandboxStandaloneConfig(env: Record<string, string | undefined>): SandboxStandaloneConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([key, v]) => key in schema.shape && v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new Error(result.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('\n'));
  }
  return result.data;
}
