import { createHash } from 'node:crypto';

/**
 * Statements with more parameters than this run unnamed: their text varies with the length of a
 * list (`IN ($1, ..., $n)`, multi-row VALUES), so naming them would prepare a new statement per
 * length on every connection. The hot statements (claims, sends recorded, events appended, Signal
 * key reads) take a handful.
 */
export const MAX_PREPARED_PARAMS = 32;

/**
 * A connection is closed after this many uses and a fresh one opened: what a connection has
 * prepared (a few KB per statement, on both sides) stays bounded however many shapes of
 * statements run over the process's life. One reconnect per 10,000 uses costs nothing measurable.
 */
export const PREPARED_CONNECTION_MAX_USES = 10_000;

/**
 * The name a statement is prepared under, or undefined to run it unnamed. node-postgres parses a
 * named statement once per connection and then only binds and executes it, and PostgreSQL plans
 * it once (or keeps a generic plan): per message sent that halved PostgreSQL's CPU in
 * bench:messages. The name is a digest of the text, so one text always has one name (pg refuses a
 * name reused for another text on the same connection).
 */
export function preparedStatementName(sql: string, paramCount: number): string | undefined {
  if (paramCount > MAX_PREPARED_PARAMS) return undefined;
  return `zh_${createHash('sha256').update(sql).digest('base64url').slice(0, 27)}`;
}
