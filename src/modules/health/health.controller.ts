import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { HealthIndicators } from './health.indicators';

/** Kubernetes probes. Open routes (no API key). */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicators,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: 200 while the process and its event loop work; never checks PostgreSQL or Redis' })
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness: PostgreSQL, Redis and (worker roles) processors; 503 when any is down or while shutting down',
    description: 'Also reports pool, queues and flows as informational indicators that stay up.',
  })
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    const i = this.indicators;
    return this.health.check([
      () => i.shutdown(),
      () => i.database(),
      () => i.redisPing(),
      () => i.processors(),
      () => i.pool(),
      () => i.queues(),
      () => i.flows(),
    ]);
  }

  @Get('startup')
  @ApiOperation({ summary: 'Startup: 200 once migrations are checked and sessions are restored' })
  @HealthCheck()
  startup(): Promise<HealthCheckResult> {
    return this.health.check([() => this.indicators.startup()]);
  }
}
