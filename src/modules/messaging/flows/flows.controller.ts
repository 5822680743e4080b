import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { FlowTracker, type FlowsView } from './flow-tracker';

class FlowsViewDto implements FlowsView {
  @ApiProperty() active: number;
  @ApiProperty() oldestAgeSeconds: number;
  @ApiProperty() pendingPromises: number;
  @ApiProperty({ description: 'Flows removed after FLOW_TTL_MS since this process started' }) expiredTotal: number;
  @ApiProperty({ example: { 'sales-1': 2 }, description: 'Flows in progress by session name' }) bySession: Record<string, number>;
}

/** What this process is sending (and, later, receiving) right now. */
@ApiTags('messages')
@ApiSecurity('api-key')
@Controller('api/flows')
export class FlowsController {
  constructor(private readonly flows: FlowTracker) {}

  @Get()
  @ApiOperation({
    summary: "This process's flows in progress",
    description: 'A flow is one drain of one chat (or one inbound message being recorded). Per process: on an api replica it is empty.',
  })
  @ApiOkResponse({ type: FlowsViewDto })
  get(): FlowsView {
    return this.flows.view();
  }
}
