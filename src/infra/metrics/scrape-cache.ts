/**
 * A value read from a slow source (PostgreSQL) for gauges computed at scrape
 * time: reused for `ttlMs` by later scrapes (and by every gauge of one
 * scrape), and when a read fails the last good value is kept (the next
 * scrape tries again), so a database outage never fails /metrics.
 */
export function scrapeCache<T>(load: () => Promise<T>, ttlMs: number, initial: T): () => Promise<T> {
  let pending: { at: number; value: Promise<T> } | null = null;
  let last = initial;
  return async () => {
    if (!pending || Date.now() - pending.at > ttlMs) pending = { at: Date.now(), value: load() };
    try {
      last = await pending.value;
    } catch {
      pending = null;
    }
    return last;
  };
}
