import { readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Injectable } from '@nestjs/common';
import { PrismaService } from './prisma.service';

export interface MigrationStatus {
  pending: string[];
  failed: string[];
}

/**
 * Compares prisma/migrations on disk with what `_prisma_migrations` says was
 * applied, so boot can refuse to run against an old schema.
 */
@Injectable()
export class MigrationStatusRepository {
  constructor(private readonly prisma: PrismaService) {}

  async status(migrationsDir = path.join(process.cwd(), 'prisma', 'migrations')): Promise<MigrationStatus> {
    const expected = existsSync(migrationsDir)
      ? readdirSync(migrationsDir).filter((d) => statSync(path.join(migrationsDir, d)).isDirectory())
      : [];
    const table = await this.prisma.$queryRaw<{ exists: boolean }[]>`
      SELECT to_regclass('_prisma_migrations') IS NOT NULL AS "exists"`;
    if (!table[0]?.exists) return { pending: expected.sort(), failed: [] };
    const rows = await this.prisma.$queryRaw<{ migration_name: string; finished_at: Date | null; rolled_back_at: Date | null }[]>`
      SELECT migration_name, finished_at, rolled_back_at FROM _prisma_migrations`;
    const applied = new Set(rows.filter((r) => r.finished_at && !r.rolled_back_at).map((r) => r.migration_name));
    const failed = rows.filter((r) => !r.finished_at && !r.rolled_back_at).map((r) => r.migration_name);
    return { pending: expected.filter((m) => !applied.has(m)).sort(), failed };
  }
}
