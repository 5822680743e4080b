import { parseConfig, type AppConfig } from '../../../../config';

/** A valid config for unit tests of the runtime (no PostgreSQL or Redis is reached), with overrides. */
export function testConfig(overrides: Record<string, string> = {}): AppConfig {
  return parseConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    API_KEY: 'test-api-key-0123456789abcdef',
    DATABASE_URL: 'postgresql://x@127.0.0.1/x',
    REDIS_URL: 'redis://127.0.0.1:6379',
    STATUS_DEBOUNCE_MS: '0',
    ...overrides,
  });
}
