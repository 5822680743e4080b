// Measuring helpers for the benchmarks (added with bench:messages; the older benches keep their own
// copies): CPU of processes from /proc, memory after GC, percentiles, and request/answer over IPC
// with a forked child.
import { readFileSync } from 'node:fs';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const mb = (bytes) => +(bytes / 2 ** 20).toFixed(1);
export const round = (n, digits = 1) => (Number.isFinite(n) ? +n.toFixed(digits) : null);
export const ratio = (a, b) => (a === null || b === null || a === undefined || b === undefined || !(b > 0) ? null : +(a / b).toFixed(2));

/** p50/p90/p99/max of a list of milliseconds (nearest rank); NaN entries are left out and counted. */
export function percentiles(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!sorted.length) return { n: 0 };
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  const out = { n: sorted.length, p50: round(at(50)), p90: round(at(90)), p99: round(at(99)), max: round(sorted[sorted.length - 1]) };
  if (sorted.length !== values.length) out.missing = values.length - sorted.length;
  return out;
}

/** Lets pending work finish, then collects twice so what remains is live (needs --expose-gc). */
export async function memory(idleMs = 1000) {
  await sleep(idleMs);
  global.gc();
  await new Promise((resolve) => setImmediate(resolve));
  global.gc();
  const m = process.memoryUsage();
  return { rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), heapTotalMB: mb(m.heapTotal), externalMB: mb(m.external + m.arrayBuffers) };
}

/** utime + stime of a process in clock ticks (10 ms), null when it is gone. */
export function procTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/** User and system ticks, and read/write syscalls (/proc/<pid>/io) of a process; null when it is gone. */
export function procDetail(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name) => Number(io.match(new RegExp(`^${name}: (\\d+)`, 'm'))?.[1] ?? NaN);
    return { user: Number(fields[11]), system: Number(fields[12]), syscr: field('syscr'), syscw: field('syscw') };
  } catch {
    return null;
  }
}

/** Busy and total ticks of the whole machine (/proc/stat). */
export function machineTicks() {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const ticks = values.map(Number);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = ticks[3] + ticks[4];
  return { busy: total - idle, total };
}

export function cpuCount() {
  return readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((l) => /^cpu\d+ /.test(l)).length;
}

/**
 * CPU used by named parts between two snapshots. `parts` maps a name to a pid (read from /proc) or
 * to a function answering milliseconds (e.g. Redis INFO); `pgBackends` (optional) answers the pids
 * of the PostgreSQL backends to sum (a backend that closed in between is missed).
 */
export class CpuMeter {
  constructor(parts, pgBackends = null) {
    this.parts = parts;
    this.pgBackends = pgBackends;
  }

  async snapshot() {
    const values = {};
    const details = {};
    for (const [name, source] of Object.entries(this.parts)) {
      if (typeof source === 'number') {
        values[name] = (procTicks(source) ?? NaN) * 10;
        details[name] = procDetail(source);
      } else values[name] = await source();
    }
    const pg = new Map();
    if (this.pgBackends) {
      for (const pid of await this.pgBackends()) {
        const ticks = procTicks(pid);
        if (ticks !== null) pg.set(pid, ticks);
      }
    }
    return { at: Date.now(), values, details, pg, machine: machineTicks() };
  }

  /** Cores busy per part and milliseconds of CPU per item between snapshots a and b. */
  delta(a, b, items) {
    const wallMs = b.at - a.at;
    const ms = {};
    for (const name of Object.keys(this.parts)) ms[name] = b.values[name] - a.values[name];
    if (this.pgBackends) {
      let ticks = 0;
      for (const [pid, t] of b.pg) ticks += t - (a.pg.get(pid) ?? 0);
      ms.postgresBackends = ticks * 10;
    }
    const busy = b.machine.busy - a.machine.busy;
    const total = b.machine.total - a.machine.total;
    const out = { wallMs, machineCoresBusy: total ? round((busy / total) * cpuCount(), 2) : null, machineMsPerItem: total ? round((busy / total) * cpuCount() * wallMs / items, 3) : null, coresBusy: {}, msPerItem: {} };
    let sum = 0;
    for (const [name, v] of Object.entries(ms)) {
      out.coresBusy[name] = round(v / wallMs, 2);
      out.msPerItem[name] = round(v / items, 3);
      sum += v;
    }
    // Per process: user and system CPU, and syscalls, per item.
    out.processes = {};
    for (const name of Object.keys(this.parts)) {
      const x = a.details[name];
      const y = b.details[name];
      if (!x || !y) continue;
      out.processes[name] = {
        userMsPerItem: round(((y.user - x.user) * 10) / items, 3),
        systemMsPerItem: round(((y.system - x.system) * 10) / items, 3),
        readSyscallsPerItem: round((y.syscr - x.syscr) / items, 1),
        writeSyscallsPerItem: round((y.syscw - x.syscw) / items, 1),
      };
    }
    // The machine's busy time that none of the parts used: other processes (another developer's
    // tests on a shared machine, PostgreSQL's background workers, the kernel). Large means noise.
    out.otherCoresBusy = total ? round((busy / total) * cpuCount() - sum / wallMs, 2) : null;
    return out;
  }
}

/**
 * The parent's side of a request/answer protocol with a forked child: `ask(cmd, args)` sends
 * {cmd, seq, ...args} and resolves with the child's {seq, ...} answer (rejects with its `error`).
 * Other messages (no seq the parent waits for) go to `onOther`. A child that exits fails whoever waits.
 */
export function ipcClient(child, onOther = () => undefined) {
  let seq = 0;
  const pending = new Map();
  child.on('message', (message) => {
    const waiter = message && pending.get(message.seq);
    if (!waiter) return onOther(message);
    pending.delete(message.seq);
    if (message.error) waiter.reject(new Error(message.error));
    else waiter.resolve(message);
  });
  child.on('exit', (code, signal) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`the child exited (${code ?? signal})`));
    pending.clear();
  });
  return (cmd, args = {}) =>
    new Promise((resolve, reject) => {
      if (!child.connected) return reject(new Error(`the child is gone (asked ${cmd})`));
      const id = ++seq;
      pending.set(id, { resolve, reject });
      child.send({ ...args, cmd, seq: id });
    });
}

/** The child's side: answers each {cmd, seq} with handlers[cmd](message); errors go back as `error`. */
export function serveIpc(handlers) {
  process.on('message', async (message) => {
    if (!message || typeof message.cmd !== 'string' || message.seq === undefined) return;
    const handler = handlers[message.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${message.cmd}`);
      const answer = await handler(message);
      process.send({ ...(answer ?? {}), seq: message.seq });
    } catch (error) {
      process.send({ seq: message.seq, error: String(error?.stack ?? error) });
    }
  });
}

/** This process's CPU milliseconds (user + system). */
export function ownCpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
