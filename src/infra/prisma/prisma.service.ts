import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../../generated/prisma/client';
import { APP_CONFIG, type AppConfig } from '../../config';
import { PG_CONNECTION_OPTIONS } from './pg-connection-options';

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
    super({ adapter: new PrismaPg({ connectionString: config.DATABASE_URL, ...PG_CONNECTION_OPTIONS }) });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.disconnect();
  }

  async disconnect(): Promise<void> {
    await this.$disconnect().catch((error: unknown) => this.logger.warn(`prisma disconnect failed: ${String(error)}`));
  }
}
