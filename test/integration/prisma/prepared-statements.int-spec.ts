import { PrismaService } from '../../../src/infra/prisma/prisma.service';
import { MAX_PREPARED_PARAMS } from '../../../src/infra/prisma/prepared-statements';
import { createTestEnv, type TestEnv } from '../../helpers/test-env';

/** What the connection of an interactive transaction has prepared, after a lookup of sessions by name. */
async function preparedAfterLookup(prisma: PrismaService, names: string[]): Promise<Array<{ name: string; statement: string }>> {
  return prisma.$transaction(async (tx) => {
    await tx.session.findMany({ where: { name: { in: names } }, select: { id: true } });
    await tx.session.findMany({ where: { name: { in: names } }, select: { id: true } });
    return tx.$queryRawUnsafe<Array<{ name: string; statement: string }>>('SELECT name, statement FROM pg_prepared_statements');
  });
}

describe('prepared statements (PostgreSQL)', () => {
  const envs: TestEnv[] = [];
  const clients: PrismaService[] = [];
  afterAll(async () => {
    for (const prisma of clients) await prisma.disconnect();
    for (const env of envs) await env.cleanup();
  });

  async function client(overrides: Record<string, string> = {}): Promise<PrismaService> {
    const env = await createTestEnv(overrides);
    envs.push(env);
    const prisma = new PrismaService(env.config);
    clients.push(prisma);
    return prisma;
  }

  it('prepares a statement with few parameters on its connection, under a name derived from its text', async () => {
    const prepared = await preparedAfterLookup(await client(), ['one', 'two']);
    const lookup = prepared.filter((p) => p.statement.includes('"Session"') && p.statement.includes('IN ($1,$2)'));
    expect(lookup).toHaveLength(1);
    expect(lookup[0]!.name).toMatch(/^zh_[A-Za-z0-9_-]{27}$/);
  });

  it('runs a statement with a long parameter list unnamed (its text changes with the length of the list)', async () => {
    const names = Array.from({ length: MAX_PREPARED_PARAMS + 8 }, (_, i) => `session-${i}`);
    const prepared = await preparedAfterLookup(await client(), names);
    expect(prepared.filter((p) => p.statement.includes('"Session"'))).toEqual([]);
  });

  it('prepares nothing with DATABASE_PREPARED_STATEMENTS=false (for poolers that cannot keep them)', async () => {
    expect(await preparedAfterLookup(await client({ DATABASE_PREPARED_STATEMENTS: 'false' }), ['one', 'two'])).toEqual([]);
  });
});
