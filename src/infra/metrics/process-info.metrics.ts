import { Inject, Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '../../config';
import { MetricsRegistry } from './metrics.registry';

/**
 * Facts about how this process was configured: `zaphub_sandbox` is 1 when
 * sessions talk to the fake WhatsApp network (SANDBOX=true), so a dashboard or
 * alert can tell a sandbox deployment from a real one.
 */
@Injectable()
export class ProcessInfoMetrics {
  constructor(metrics: MetricsRegistry, @Inject(APP_CONFIG) config: AppConfig) {
    new Gauge({
      name: 'zaphub_sandbox',
      help: '1 when this process uses the sandbox (fake WhatsApp network), else 0',
      registers: [metrics.registry],
    }).set(config.SANDBOX ? 1 : 0);
  }
}
