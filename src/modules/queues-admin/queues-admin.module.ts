import { Module } from '@nestjs/common';
import { bullBoardModules } from './bull-board';
import { OwnerQueueCopies } from './owner-queue-copies';
import { QueuesAdminController } from './queues-admin.controller';

/** The /api/queues admin routes and bull-board at /admin/queues. */
@Module({ imports: [...bullBoardModules()], controllers: [QueuesAdminController], providers: [OwnerQueueCopies] })
export class QueuesAdminModule {}
