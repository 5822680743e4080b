import { Injectable, Logger, Optional } from '@nestjs/common';
import type { Prisma } from '../../generated/prisma/client';
import { BackgroundFailures } from '../metrics/background-failures';
import { PrismaService } from './prisma.service';

/**
 * An open database transaction, as the rest of the code sees it: an opaque
 * handle that services pass from `TransactionRunner.run` to repositories.
 * Only repositories (and this file) know it is a Prisma transaction client, so
 * a state change and the event it causes can commit together without Prisma
 * leaking into services.
 */
export interface DbTransaction {
  readonly __brand: 'DbTransaction';
}

/** The client a repository should use: the caller's transaction when given, else the pool. */
export function dbClient(prisma: PrismaService, tx?: DbTransaction): Prisma.TransactionClient {
  return (tx as unknown as Prisma.TransactionClient | undefined) ?? prisma;
}

type CommitCallback = () => Promise<void> | void;

/** Callbacks registered with `afterCommit`, per open transaction. */
const commitCallbacks = new WeakMap<object, CommitCallback[]>();

/**
 * Runs `callback` once the transaction `tx` committed (never when it rolls
 * back): wake-up hints and job triggers for rows the transaction wrote. A job
 * enqueued inside the transaction could run before the commit and find
 * nothing. `TransactionRunner.run` awaits the callbacks before it returns and
 * logs a failed one: a trigger is only a hint, a reconciler re-creates it
 * from the rows.
 */
export function afterCommit(tx: DbTransaction, callback: CommitCallback): void {
  const callbacks = commitCallbacks.get(tx as unknown as object);
  if (!callbacks) throw new Error('afterCommit needs a transaction opened by TransactionRunner.run');
  callbacks.push(callback);
}

@Injectable()
export class TransactionRunner {
  constructor(
    private readonly prisma: PrismaService,
    @Optional() private readonly failures?: BackgroundFailures,
  ) {}

  /**
   * Runs `fn` in one transaction: everything it writes through repositories
   * commits or rolls back together. Then runs the transaction's `afterCommit`
   * callbacks, in order; their failures are logged and counted
   * (`zaphub_background_failures_total{task="after-commit"}`), never thrown:
   * the commit happened.
   */
  async run<T>(fn: (tx: DbTransaction) => Promise<T>): Promise<T> {
    let callbacks: CommitCallback[] = [];
    const result = await this.prisma.$transaction((tx) => {
      // A retried or nested body starts from a clean list.
      callbacks = [];
      commitCallbacks.set(tx, callbacks);
      return fn(tx as unknown as DbTransaction);
    });
    for (const callback of callbacks) {
      try {
        await callback();
      } catch (error) {
        // A reconciler re-creates what the callback would have triggered.
        if (this.failures) this.failures.record('after-commit', error);
        else new Logger(TransactionRunner.name).error({ err: error }, 'after-commit callback failed');
      }
    }
    return result;
  }
}
