/**
 * libsignal runs the Signal operations of one address (a contact's device)
 * one after the other, on a queue that is process-wide and keyed by the
 * address only: every socket of the process that talks to that contact shares
 * it. A queued job runs inside the async context of whoever started the
 * queue's current run, not of whoever queued it. Baileys finds its key-store
 * transaction in an AsyncLocalStorage, so an encryption queued by a send in
 * transaction B, run by a queue that a send of the same socket had started in
 * an earlier transaction A (kept busy meanwhile by other sessions' sends to
 * the same contact), read and wrote the Signal session in A's finished
 * transaction: the ratchet step was never stored, the next send reused its
 * message counter and the contact dropped that message ("Key used already or
 * never filled"). bench:messages (10 sessions, 100 shared contacts) lost about
 * 10 of 20,000 messages that way.
 *
 * Installed once per process: every libsignal job of an address first waits
 * its turn here, in the async context of the code that asked for it, and only
 * then enters libsignal's queue, which is then idle: libsignal starts a fresh
 * run for it, in that same context.
 */
export function installLibsignalJobContext(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const libsignal = require('libsignal') as LibsignalClasses;
  const cipher = libsignal.SessionCipher.prototype;
  const builder = libsignal.SessionBuilder.prototype;
  if (cipher[INSTALLED]) return;
  const queueJob = cipher.queueJob;
  cipher.queueJob = function (this: WithAddress, awaitable) {
    return inTurn(this.addr.toString(), () => queueJob.call(this, awaitable));
  };
  const initOutgoing = builder.initOutgoing;
  builder.initOutgoing = function (this: WithAddress, ...args) {
    return inTurn(this.addr.toString(), () => initOutgoing.apply(this, args));
  };
  cipher[INSTALLED] = true;
}

/** The last job asked for, per address (settled, never rejecting): the next one starts after it. */
const turns = new Map<string, Promise<void>>();

/**
 * Runs `job` after the jobs asked for before on `address`. A `.then` callback
 * runs in the async context in which `.then` was called: the caller's.
 */
function inTurn<T>(address: string, job: () => Promise<T>): Promise<T> {
  const previous = turns.get(address) ?? Promise.resolve();
  const result = previous.then(job);
  const release = (): void => {
    if (turns.get(address) === done) turns.delete(address);
  };
  const done: Promise<void> = result.then(release, release);
  turns.set(address, done);
  return result;
}

const INSTALLED = Symbol.for('zaphub.libsignalJobContext');

interface WithAddress {
  addr: { toString(): string };
}

interface LibsignalClasses {
  SessionCipher: { prototype: { queueJob(this: WithAddress, awaitable: () => Promise<unknown>): Promise<unknown>; [INSTALLED]?: boolean } };
  SessionBuilder: { prototype: { initOutgoing(this: WithAddress, ...args: unknown[]): Promise<unknown> } };
}
