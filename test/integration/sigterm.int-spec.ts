import { connect } from 'node:net';
import { Queue, Worker, type Job } from 'bullmq';
import { compiledFixture, freePort, runNode, type NodeProcess } from '../helpers/compiled-app';
import { createTestEnv, isConnectionRefused, waitFor, type TestEnv } from '../helpers/test-env';

/**
 * SIGTERM on the compiled application (test/fixtures/slow-job-main.ts: the real
 * app and main.ts' signal wiring plus one slow processor) with a job running:
 * the HTTP server stops accepting at once, the job finishes (or, when it would
 * outlast the budget, is abandoned and retried elsewhere) and the process
 * exits 0 within SHUTDOWN_TIMEOUT_MS. Also main.ts' process-wide
 * unhandledRejection handler: a rejection nobody handled is logged and counted
 * and the process keeps serving.
 */
const QUEUE = 'fixture-slow-job'; // the fixture's own queue

interface Running {
  env: TestEnv;
  proc: NodeProcess;
  port: number;
  queue: Queue;
}

async function startFixture(shutdownTimeoutMs: number): Promise<Running> {
  const env = await createTestEnv();
  const port = await freePort();
  const proc = runNode(compiledFixture('slow-job-main'), {
    ...env.env,
    PORT: String(port),
    LOG_LEVEL: 'info',
    SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
  });
  try {
    await waitFor(
      async () => {
        if (proc.hasExited()) throw new Error(`fixture exited with ${proc.child.exitCode ?? proc.child.signalCode} before it was up:\n${proc.output()}`);
        // Refused until the fixture listens: the one error that means "not up yet".
        const res = await fetch(`http://127.0.0.1:${port}/health/startup`).catch((error: unknown) => {
          if (isConnectionRefused(error)) return null;
          throw error;
        });
        return res?.status === 200;
      },
      'fixture startup',
      30000,
    );
  } catch (error) {
    // Not up: nothing else will clean up what this call started.
    if (!proc.hasExited()) proc.child.kill('SIGKILL');
    await proc.exited;
    await env.cleanup();
    throw error;
  }
  const queue = new Queue(QUEUE, { connection: { url: env.env.REDIS_URL }, prefix: env.redisPrefix });
  return { env, proc, port, queue };
}

/** True once a new TCP connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

async function untilActive(job: Job): Promise<void> {
  await waitFor(async () => (await job.getState()) === 'active', `job ${job.id} active`);
}

describe('SIGTERM with a job in flight (compiled app as a process)', () => {
  let running: Running | undefined;

  afterEach(async () => {
    if (running) {
      if (!running.proc.hasExited()) running.proc.child.kill('SIGKILL');
      await running.queue.close();
      await running.env.cleanup();
      running = undefined;
    }
  });

  it('stops accepting HTTP, lets the running job finish and exits 0 in time', async () => {
    const timeoutMs = 8000;
    running = await startFixture(timeoutMs);
    const { proc, port, queue } = running;
    const holdMs = 2500;
    const job = await queue.add('slow', { holdMs });
    await untilActive(job);

    const sentAt = Date.now();
    proc.child.kill('SIGTERM');
    await waitFor(() => refused(port), 'new connections refused', 5000);
    expect(proc.hasExited()).toBe(false); // still finishing the job, yet no longer accepting

    const exit = await proc.exited;
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(exit.at - sentAt).toBeLessThan(timeoutMs);
    expect(exit.at - sentAt).toBeGreaterThan(holdMs - 1000); // it waited for the job
    process.stdout.write(`sigterm: job finished, exit 0 after ${exit.at - sentAt} ms\n`);

    const done = await queue.getJob(job.id!);
    expect(await done!.getState()).toBe('completed');
    expect(done!.returnvalue).toEqual({ heldMs: holdMs, pid: proc.child.pid });
    expect(proc.output()).not.toMatch(/not finished within/);
  });

  it('abandons a job that outlasts the budget, exits 0 in time, and the job is retried by another worker', async () => {
    const timeoutMs = 4500; // workers get two thirds: 3000 ms
    running = await startFixture(timeoutMs);
    const { proc, port, queue, env } = running;
    const job = await queue.add('stuck', { holdMs: -1 });
    await untilActive(job);

    const sentAt = Date.now();
    proc.child.kill('SIGTERM');
    await waitFor(() => refused(port), 'new connections refused', 5000);
    expect(proc.hasExited()).toBe(false);

    const exit = await proc.exited;
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(exit.at - sentAt).toBeGreaterThanOrEqual(3000); // it did wait the budget for the job
    process.stdout.write(`sigterm: job abandoned, exit 0 after ${exit.at - sentAt} ms\n`);
    expect(exit.at - sentAt).toBeLessThan(timeoutMs);
    expect(proc.output()).toMatch(/still busy after 3000 ms/);

    // Not lost: still in Redis, and handed to the next worker once its lock expires.
    expect(['active', 'wait', 'waiting']).toContain(await job.getState());
    const worker = new Worker(QUEUE, async () => ({ retried: true }), {
      connection: { url: env.env.REDIS_URL, maxRetriesPerRequest: null },
      prefix: env.redisPrefix,
      stalledInterval: 500,
    });
    try {
      await waitFor(async () => (await job.getState()) === 'completed', 'abandoned job retried', 15000);
      const done = await queue.getJob(job.id!);
      expect(done!.returnvalue).toEqual({ retried: true });
      expect(done!.stalledCounter).toBe(1);
    } finally {
      await worker.close();
    }
  });

  it('logs and counts an unhandled rejection and keeps serving (the process-wide handler of main.ts)', async () => {
    running = await startFixture(8000);
    const { proc, port, queue } = running;
    const counted = async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return /^zaphub_unhandled_rejections_total (\d+)$/m.exec(text)?.[1] ?? 'absent';
    };
    expect(await counted()).toBe('0'); // exported before the first one

    const job = await queue.add('reject', { holdMs: 0, unhandledRejection: true });
    await waitFor(async () => (await counted()) === '1', 'the rejection to be counted');
    await waitFor(async () => (await job.getState()) === 'completed', `job ${job.id} completed`);
    expect(proc.hasExited()).toBe(false);
    expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
    // One error line with the reason and its stack (pino JSON: the stack's newlines are escaped). The
    // counter can be scraped before the log line has crossed the pipe: wait for the line, then count.
    const rejectionLines = () => proc.output().split('\n').filter((line) => line.includes('Unhandled promise rejection'));
    await waitFor(() => rejectionLines().length > 0, 'the rejection logged');
    const logged = rejectionLines();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(`fixture rejection of job ${job.id}`);
    expect(logged[0]).toMatch(/"level":(50|"error")/);
    expect(logged[0]).toMatch(/Error: fixture rejection of job \S+\\n\s+at /);
  });
});
