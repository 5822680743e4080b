import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

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

/** Names of the texts seen lately: a digest per query was a visible share of the app's CPU per message. */
const names = new LRUCache<string, string>({ max: 2_000 });

/**
 * The name a statement is prepared under, or undefined to run it unnamed. node-postgres parses a
 * named statement once per connection and then only binds and executes it, and PostgreSQL plans
 * it once (or keeps a generic plan): in bench:messages that cut PostgreSQL's CPU per message
 * sent by about a third (2.55 -> 1.6 to 1.8 ms). The name is a digest of the text, so one text
 * always has one name (pg refuses a name reused for another text on the same connection).
 */
export function preparedStatementName(sql: string, paramCount: number): string | undefined {
  if (paramCount > MAX_PREPARED_PARAMS) return undefined;
  let name = names.get(sql);
  if (name === undefined) {
    name = `zh_${createHash('sha256').update(sql).digest('base64url').slice(0, 27)}`;
    names.set(sql, name);
  }
  return name;
}
