import { Global, Module } from '@nestjs/common';
import { MigrationStatusRepository } from './migration-status.repository';
import { PrismaService } from './prisma.service';
import { TransactionRunner } from './transaction';

@Global()
@Module({
  providers: [PrismaService, MigrationStatusRepository, TransactionRunner],
  exports: [PrismaService, MigrationStatusRepository, TransactionRunner],
})
export class PrismaModule {}
