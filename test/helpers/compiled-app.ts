import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';

/**
 * The application compiled by tsc (same compiler options as `npm run build`)
 * into dist-test/, with the test fixtures beside it. Built by
 * scripts/test-all.sh's type check, or by the integration tier's global setup
 * when missing or older than the sources (test/helpers/build-for-tests.js).
 */
export const ROOT = path.join(__dirname, '..', '..');
export const COMPILED_MAIN = path.join(ROOT, 'dist-test', 'src', 'main.js');
export const compiledFixture = (name: string) => path.join(ROOT, 'dist-test', 'test', 'fixtures', `${name}.js`);

export interface NodeProcess {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  hasExited(): boolean;
}

/** Runs `node script` from the repository root with exactly `env` (plus PATH). */
export function runNode(script: string, env: Record<string, string>): NodeProcess {
  const child = spawn(process.execPath, [script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let all = '';
  let err = '';
  let done = false;
  child.stdout!.on('data', (chunk: Buffer) => (all += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    all += chunk.toString();
    err += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal, at: Date.now() });
    }),
  );
  return { child, output: () => all, stderr: () => err, exited, hasExited: () => done };
}

/** A TCP port that was free a moment ago (for a child process that must listen on a known port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
