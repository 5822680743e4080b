import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../../generated/prisma/client';
import { APP_CONFIG, type AppConfig } from '../../config';
import { PG_CONNECTION_OPTIONS } from './pg-connection-options';
import { PREPARED_CONNECTION_MAX_USES, preparedStatementName } from './prepared-statements';

/**
 * The one PrismaClient of the process (Prisma 7 with the pg driver adapter).
 * Only `*.repository.ts` files inject it. It disconnects in
 * `onApplicationShutdown`, after WorkerRegistry has closed every worker in
 * `beforeApplicationShutdown`: jobs may still run during `onModuleDestroy`.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  private readonly logger = new Logger(PrismaService.name);

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const prepared = config.DATABASE_PREPARED_STATEMENTS;
    super({
      adapter: new PrismaPg(
        { connectionString: config.DATABASE_URL, ...PG_CONNECTION_OPTIONS, ...(prepared ? { maxUses: PREPARED_CONNECTION_MAX_USES } : {}) },
        // (The adapter's type wants a string; pg runs a statement without a name unnamed.)
        prepared ? { statementNameGenerator: (query) => preparedStatementName(query.sql, query.args.length) as string } : undefined,
      ),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.disconnect();
  }

  async disconnect(): Promise<void> {
    await this.$disconnect().catch((error: unknown) => this.logger.warn(`prisma disconnect failed: ${String(error)}`));
  }
}
