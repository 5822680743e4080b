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
    // prom-client's totals of active handles/requests/resources are gauges named
    // `*_total`, which `promtool check metrics` rejects (that suffix is for
    // counters). The same numbers remain as the per-type gauges
    // `nodejs_active_{handles,requests,resources}{type}`: sum them for a total.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(name);
    }
  }
}
