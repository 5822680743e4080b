import { DynamicModule, Module, type Type } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { ApiKeyGuard } from './common/guards/api-key.guard';
import { HttpExceptionFilter } from './common/filters/http-exception.filter';
import { ConfigModule, type AppConfig } from './config';
import { EventBusModule } from './infra/events/event-bus';
import { EventLogModule } from './infra/events/event-log';
import { HealthInfoModule } from './infra/health-info/health-info.registry';
import { LifecycleModule } from './infra/lifecycle/lifecycle.module';
import { LocksModule } from './infra/locks/locks.module';
import { LoggingModule } from './infra/logging/logging.module';
import { MetricsModule } from './infra/metrics/metrics.module';
import { OutboundUrlModule } from './infra/outbound-url/outbound-url.module';
import { PrismaModule } from './infra/prisma/prisma.module';
import { QueuesModule } from './infra/queues/queues.module';
import { RedisModule } from './infra/redis/redis.module';
import { AuthModule } from './modules/auth/auth.module';
import { DashboardModule } from './modules/dashboard/dashboard.module';
import { HealthModule } from './modules/health/health.module';
import { QueuesAdminModule } from './modules/queues-admin/queues-admin.module';

/**
 * Root module. Built from the validated config so that the role decides what is
 * loaded: `api` serves HTTP and enqueues; `worker` also runs processors, owns
 * sessions and runs crons; `all` does both. Feature modules read the role from
 * their own `register(config)` where they have processors.
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, extraModules: Array<Type | DynamicModule> = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(config),
        ScheduleModule.forRoot(),
        LifecycleModule,
        HealthInfoModule,
        EventBusModule,
        EventLogModule,
        PrismaModule,
        RedisModule,
        LocksModule,
        QueuesModule,
        MetricsModule,
        OutboundUrlModule,
        HealthModule,
        AuthModule,
        QueuesAdminModule,
        ...extraModules,
        // After the feature modules: its stream controller uses the (global) sessions module.
        DashboardModule,
      ],
      providers: [
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
      ],
    };
  }
}
