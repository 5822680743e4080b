import { COMPILED_MAIN, runNode } from '../helpers/compiled-app';

/**
 * The compiled service refuses to start on a bad environment: exit code 1, one
 * stderr line per problem, no stack trace, nothing on stdout, and no attempt to
 * reach PostgreSQL or Redis first (it exits at once).
 */
async function boot(env: Record<string, string>) {
  const started = Date.now();
  const proc = runNode(COMPILED_MAIN, env);
  let stdout = '';
  proc.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exit = await proc.exited;
  return { ...exit, stdout, stderr: proc.stderr(), ms: Date.now() - started };
}

describe('boot with a bad configuration (compiled main)', () => {
  it('exits 1 naming every problem on its own line', async () => {
    const result = await boot({
      REDIS_URL: 'http://127.0.0.1:6379',
      API_KEY: 'short',
      PORT: '70000',
      APP_ROLE: 'boss',
      BODY_LIMIT: 'lots',
      HUMANIZE_ENABLED: 'yes',
      HUMANIZE_MIN_TYPING_MS: '9000',
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('Invalid configuration:');
    expect(lines.slice(1).sort()).toEqual(
      [
        '  - DATABASE_URL is required',
        '  - REDIS_URL must be a redis:// or rediss:// URL',
        '  - API_KEY must be at least 16 characters',
        '  - PORT must be <= 65535',
        '  - APP_ROLE must be one of all, api, worker',
        '  - BODY_LIMIT must be a size such as 16mb, 512kb or 1048576',
        '  - HUMANIZE_ENABLED must be true or false',
        '  - HUMANIZE_MIN_TYPING_MS must be <= HUMANIZE_MAX_TYPING_MS',
      ].sort(),
    );
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('exits 1 with an empty environment, and refuses the sandbox in production', async () => {
    const empty = await boot({});
    expect(empty.code).toBe(1);
    expect(empty.stderr.trimEnd().split('\n')).toEqual([
      'Invalid configuration:',
      '  - DATABASE_URL is required',
      '  - REDIS_URL is required',
      '  - API_KEY is required',
    ]);

    const sandbox = await boot({
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/none',
      REDIS_URL: 'redis://127.0.0.1:1',
      API_KEY: 'a-key-of-sixteen-chars',
      NODE_ENV: 'production',
      SANDBOX: 'true',
    });
    expect(sandbox.code).toBe(1);
    expect(sandbox.stderr.trimEnd().split('\n')).toEqual(['Invalid configuration:', '  - SANDBOX must not be true when NODE_ENV=production']);
  });
});
