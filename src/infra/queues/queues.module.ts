import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config';
import { bullConnection } from '../redis/redis.module';
import { ALL_QUEUES, defaultJobOptions } from './queue-catalogue';
import { QueuesService } from './queues.service';
import { WorkerRegistry } from './worker-registry';

/**
 * Declares every queue of the catalogue once. Queues (producers) fail fast when
 * Redis is down (`enableOfflineQueue: false`) so an HTTP request gets an error
 * instead of hanging; workers get their own blocking connections from BullMQ.
 */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        connection: bullConnection(config, 'worker'),
        prefix: config.REDIS_PREFIX,
      }),
    }),
    ...ALL_QUEUES.map((name) =>
      BullModule.registerQueueAsync({
        name,
        inject: [APP_CONFIG],
        useFactory: (config: AppConfig) => ({
          connection: bullConnection(config, 'producer'),
          prefix: config.REDIS_PREFIX,
          defaultJobOptions: defaultJobOptions(config, name),
        }),
      }),
    ),
  ],
  providers: [QueuesService, WorkerRegistry],
  exports: [BullModule, QueuesService, WorkerRegistry],
})
export class QueuesModule {}
