import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { MigrationStatusRepository } from '../prisma/migration-status.repository';
import { LifecycleService } from './lifecycle.service';

export class SchemaOutdatedError extends Error {}

/**
 * Boot refuses to serve against a database whose schema is behind the code:
 * the error names the pending migrations and how to apply them.
 */
@Injectable()
export class SchemaCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger(SchemaCheck.name);

  constructor(
    private readonly migrations: MigrationStatusRepository,
    private readonly lifecycle: LifecycleService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { pending, failed } = await this.migrations.status();
    if (failed.length) {
      throw new SchemaOutdatedError(`database has failed migrations: ${failed.join(', ')}; fix them, then run "npm run db:deploy"`);
    }
    if (pending.length) {
      throw new SchemaOutdatedError(`database schema is not current, pending migrations: ${pending.join(', ')}; run "npm run db:deploy"`);
    }
    this.logger.log('database schema is current');
    this.lifecycle.completeStartupTask('migrations');
  }
}
