import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { APP_CONFIG, type AppConfig } from '../../config';

export class DashboardInfoView {
  @ApiProperty({ description: 'SANDBOX=true: the sandbox routes (the fake phone) exist' }) sandbox: boolean;
  @ApiProperty({ enum: ['all', 'api', 'worker'], description: 'APP_ROLE of the replica that answered' }) role: string;
}

/** What the dashboard page adapts to (the sandbox's buttons), read once after sign-in. */
@ApiTags('dashboard')
@ApiSecurity('api-key')
@Controller('api/dashboard')
export class DashboardInfoController {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get()
  @ApiOperation({ summary: 'What the dashboard needs to know about this deployment (sandbox mode, role)' })
  @ApiOkResponse({ type: DashboardInfoView })
  info(): DashboardInfoView {
    return { sandbox: this.config.SANDBOX, role: this.config.APP_ROLE };
  }
}
