import { Module } from '@nestjs/common';
import { QueuesAdminController } from './queues-admin.controller';

@Module({ controllers: [QueuesAdminController] })
export class QueuesAdminModule {}
