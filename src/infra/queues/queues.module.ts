import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config';
import { bullConnection } from '../redis/redis.module';
import { ALL_QUEUES, defaultJobOptions, queuePrefix } from './queue-catalogue';
import { QueuesService } from './queues.service';
import { WorkerRegistry } from './worker-registry';

/**
 * Declares every queue of the catalogue once. @nestjs/bullmq builds workers
 * from the queue's connection options, so they are the blocking-safe ones
 * (`maxRetriesPerRequest: null`); producers fail fast through QueuesService,
 * which refuses to enqueue while Redis is unreachable.
 */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        connection: bullConnection(config),
        prefix: config.REDIS_PREFIX,
      }),
    }),
    ...ALL_QUEUES.map((name) =>
      BullModule.registerQueueAsync({
        name,
        inject: [APP_CONFIG],
        useFactory: (config: AppConfig) => ({
          connection: bullConnection(config),
          prefix: queuePrefix(config, name),
          defaultJobOptions: defaultJobOptions(config, name),
        }),
      }),
    ),
  ],
  providers: [QueuesService, WorkerRegistry],
  exports: [BullModule, QueuesService, WorkerRegistry],
})
export class QueuesModule {}
