import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../../config';
import { CleanupMetrics } from './cleanup-metrics';
import { CleanupRunner } from './cleanup-runner';
import { CleanupScheduler } from './cleanup-scheduler';
import { CleanupState } from './cleanup-state';
import { CleanupTasks } from './cleanup-tasks';
import { CleanupController } from './cleanup.controller';
import { CleanupRepository } from './cleanup.repository';

/**
 * Cleanup: the jobs that keep the database and Redis small (done outbox rows,
 * expired pending messages, old history, finished BullMQ jobs) and the
 * flows/summary reports, with GET /api/cleanup and POST /api/cleanup/:job/run
 * on every role. The crons only run on worker roles (`worker`, `all`); a run
 * asked for through the API runs on the replica that got the request, under
 * the same lock.
 */
@Module({})
export class CleanupModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: CleanupModule,
      controllers: [CleanupController],
      providers: [CleanupRepository, CleanupState, CleanupMetrics, CleanupTasks, CleanupRunner, ...(config.APP_ROLE !== 'api' ? [CleanupScheduler] : [])],
    };
  }
}
