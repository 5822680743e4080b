import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { APP_CONFIG, type AppConfig } from '../../config';
import { UnauthorizedError } from '../../common/errors/domain-errors';
import { bearerTokenMatches } from './metrics-token';
import { MetricsRegistry } from './metrics.registry';

/** Prometheus scrape endpoint; open unless METRICS_TOKEN is set. */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async scrape(@Headers('authorization') authorization: string | undefined, @Res() res: Response): Promise<void> {
    const token = this.config.METRICS_TOKEN;
    if (token && !bearerTokenMatches(authorization, token)) {
      throw new UnauthorizedError('A valid "Authorization: Bearer <METRICS_TOKEN>" header is required');
    }
    res.setHeader('Content-Type', this.metrics.registry.contentType);
    res.send(await this.metrics.registry.metrics());
  }
}
