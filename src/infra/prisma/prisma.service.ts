import { Inject, Injectable, Logger } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../../generated/prisma/client';
import { APP_CONFIG, type AppConfig } from '../../config';

/**
 * The one PrismaClient of the process (Prisma 7 with the pg driver adapter).
 * Only `*.repository.ts` files inject it. It is disconnected last, by the
 * shutdown sequence (see infra/lifecycle), after queues and workers are closed:
 * jobs may still run during `onModuleDestroy`.
 */
@Injectable()
export class PrismaService extends PrismaClient {
  private readonly logger = new Logger(PrismaService.name);

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super({ adapter: new PrismaPg({ connectionString: config.DATABASE_URL, connectionTimeoutMillis: 5000 }) });
  }

  async disconnect(): Promise<void> {
    await this.$disconnect().catch((error: unknown) => this.logger.warn(`prisma disconnect failed: ${String(error)}`));
  }
}
