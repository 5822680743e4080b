import { Global, Module } from '@nestjs/common';
import { MigrationStatusRepository } from './migration-status.repository';
import { PrismaService } from './prisma.service';

@Global()
@Module({ providers: [PrismaService, MigrationStatusRepository], exports: [PrismaService, MigrationStatusRepository] })
export class PrismaModule {}
