import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Histogram } from 'prom-client';
import { MetricsRegistry } from './metrics.registry';

/** Owns `http_request_duration_seconds{method,route,status_code}`. */
@Injectable()
export class HttpMetrics {
  readonly histogram: Histogram<'method' | 'route' | 'status_code'>;

  constructor(metrics: MetricsRegistry) {
    this.histogram = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration in seconds, by route pattern',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [metrics.registry],
    });
  }
}

/** Times every request, labelled with the route pattern, never the raw path (paths can carry phone numbers). */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: HttpMetrics) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const end = this.metrics.histogram.startTimer();
    res.once('finish', () => {
      // Nest registers middleware (this one, nestjs-pino's) as wildcard routes, so
      // a request no controller matched still has req.route: a catch-all pattern.
      // ZapHub's controllers declare no wildcard routes.
      const pattern = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof pattern === 'string' && !pattern.includes('*') ? `${req.baseUrl ?? ''}${pattern}` : 'unmatched';
      end({ method: req.method, route, status_code: String(res.statusCode) });
    });
    next();
  }
}
