import { Global, Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { BackgroundFailures } from './background-failures';
import { HttpMetrics, HttpMetricsMiddleware } from './http-metrics.middleware';
import { MetricsController } from './metrics.controller';
import { MetricsRegistry } from './metrics.registry';
import { ProcessInfoMetrics } from './process-info.metrics';
import { QueueMetricsCollector } from './queue-metrics.collector';

@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsRegistry, HttpMetrics, QueueMetricsCollector, ProcessInfoMetrics, BackgroundFailures],
  exports: [MetricsRegistry, QueueMetricsCollector, BackgroundFailures],
})
export class MetricsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('*path');
  }
}
