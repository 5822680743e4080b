import { Client } from 'pg';

/** Runs one SQL query against a test database (assertions on rows the API does not expose, e.g. auth state). */
export async function query<T = Record<string, unknown>>(databaseUrl: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Auth rows (creds + keys) of a session, by name. */
export async function authRowCount(databaseUrl: string, sessionName: string): Promise<{ creds: number; keys: number }> {
  const [row] = await query<{ creds: string; keys: string }>(
    databaseUrl,
    `SELECT (SELECT count(*) FROM "AuthCreds" c JOIN "Session" s ON s.id = c."sessionId" WHERE s.name = $1) AS creds,
            (SELECT count(*) FROM "AuthKey" k JOIN "Session" s ON s.id = k."sessionId" WHERE s.name = $1) AS keys`,
    [sessionName],
  );
  return { creds: Number(row.creds), keys: Number(row.keys) };
}
