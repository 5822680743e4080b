import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../infra/prisma/prisma.service';
import { withTimeout } from '../../infra/redis/redis.module';

@Injectable()
export class DatabasePingRepository {
  constructor(private readonly prisma: PrismaService) {}

  async ping(timeoutMs: number): Promise<void> {
    await withTimeout(this.prisma.$queryRaw`SELECT 1`, timeoutMs, 'database ping timed out');
  }
}
