import { Injectable } from '@nestjs/common';
import type { Prisma } from '../../generated/prisma/client';
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

@Injectable()
export class TransactionRunner {
  constructor(private readonly prisma: PrismaService) {}

  /** Runs `fn` in one transaction: everything it writes through repositories commits or rolls back together. */
  run<T>(fn: (tx: DbTransaction) => Promise<T>): Promise<T> {
    return this.prisma.$transaction((tx) => fn(tx as unknown as DbTransaction));
  }
}
