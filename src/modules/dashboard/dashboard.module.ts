import { Module } from '@nestjs/common';
import { EventStreamModule } from '../../infra/events/event-stream.module';
import { DashboardInfoController } from './dashboard-info.controller';
import { EventStreamController } from './event-stream.controller';

/**
 * What the dashboard needs beyond the REST API: the live event stream
 * (GET /api/events/stream). SessionsService comes from the global sessions module.
 */
@Module({ imports: [EventStreamModule], controllers: [EventStreamController, DashboardInfoController] })
export class DashboardModule {}
