import { COMPILED_MAIN, freePort, runNode, type NodeProcess } from './compiled-app';
import { isConnectionRefused, TEST_API_KEY, waitFor } from './test-env';

/** The compiled application running as a child process (a process a test can kill -9). */
export interface RunningApp {
  proc: NodeProcess;
  base: string;
}

/**
 * Starts the compiled app with `env` on a free port and waits until
 * /health/ready answers 200. `spawned` gets the app as soon as its process
 * exists, so the caller's teardown kills it even if it never gets ready.
 */
export async function startCompiledApp(label: string, env: Record<string, string>, spawned: (app: RunningApp) => void): Promise<RunningApp> {
  const port = await freePort();
  const proc = runNode(COMPILED_MAIN, { ...env, PORT: String(port) });
  const app = { proc, base: `http://127.0.0.1:${port}` };
  spawned(app);
  await waitFor(
    async () => {
      if (proc.hasExited()) throw new Error(`${label} exited with ${proc.child.exitCode ?? proc.child.signalCode} before it was ready:\n${proc.output()}`);
      const res = await fetch(`${app.base}/health/ready`).catch((error: unknown) => {
        if (isConnectionRefused(error)) return null;
        throw error;
      });
      return res?.status === 200;
    },
    `${label} ready`,
    30000,
  );
  return app;
}

/** One API call with the test key; the body parsed as JSON (null when empty). */
export async function callApp(app: RunningApp, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const res = await fetch(`${app.base}${path}`, {
    method,
    headers: { 'x-api-key': TEST_API_KEY, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}
