import { Injectable } from '@nestjs/common';
import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The one Prometheus registry of the process. Each module registers the
 * metrics of the facts it owns here (labels never carry phone numbers, JIDs,
 * chat ids or message ids). A fresh registry per app instance keeps tests that
 * boot several apps in one process independent.
 */
@Injectable()
export class MetricsRegistry {
  readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
