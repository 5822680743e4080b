import type { TestApp } from '../../helpers/test-app';
import { waitFor } from '../../helpers/test-env';

/** A schedule that does not fire while a test runs (January 1st, 00:00 UTC): runs come from the API only. */
export const NEVER = '0 0 1 1 *';

/** Every cleanup cron set to NEVER: a test decides when each job runs (the boot run of expire-pending still happens). */
export const QUIET_CRONS: Record<string, string> = {
  CLEANUP_PROCESSED_CRON: NEVER,
  CLEANUP_EXPIRE_PENDING_CRON: NEVER,
  CLEANUP_HISTORY_CRON: NEVER,
  CLEANUP_JOBS_CRON: NEVER,
  CLEANUP_FLOWS_CRON: NEVER,
  CLEANUP_SUMMARY_CRON: NEVER,
};

export interface CleanupJobBody {
  job: string;
  lastRunAt: string | null;
  lastSuccessAt: string | null;
  lastRows: number | null;
  lastError: string | null;
  nextRunAt: string;
  running: boolean;
  lastDurationMs: number | null;
  lastRunBy: string | null;
}

/** The cleanup routes of one app, through HTTP. */
export function cleanupApi(t: TestApp) {
  const api = {
    async list(): Promise<CleanupJobBody[]> {
      const res = await t.http.get('/api/cleanup').set('X-Api-Key', t.apiKey);
      if (res.status !== 200) throw new Error(`GET /api/cleanup: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as CleanupJobBody[];
    },
    async job(name: string): Promise<CleanupJobBody> {
      const found = (await api.list()).find((j) => j.job === name);
      if (!found) throw new Error(`job ${name} not listed`);
      return found;
    },
    run: (name: string) => t.http.post(`/api/cleanup/${name}/run`).set('X-Api-Key', t.apiKey),
    /** Waits until GET shows a run of `name` that started at or after `since` and is over. */
    finishedSince(name: string, since: Date, timeoutMs = 30000): Promise<CleanupJobBody> {
      let last: CleanupJobBody | null = null;
      return waitFor(
        async () => {
          last = await api.job(name);
          return !last.running && last.lastRunAt !== null && new Date(last.lastRunAt).getTime() >= since.getTime() ? last : null;
        },
        () => `a finished run of ${name} since ${since.toISOString()} (last seen ${JSON.stringify(last)})`,
        timeoutMs,
      );
    },
    /** POST run (must be 202), then the run's outcome as GET shows it. */
    async runAndWait(name: string): Promise<CleanupJobBody> {
      const since = new Date();
      const res = await api.run(name);
      if (res.status !== 202) throw new Error(`POST /api/cleanup/${name}/run: ${res.status} ${JSON.stringify(res.body)}`);
      return api.finishedSince(name, since);
    },
  };
  return api;
}

/** The value of one sample in Prometheus text (0 when absent). */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ? m[2].split(/,(?=[a-zA-Z_]+=)/) : [];
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length) return Number(m[3]);
  }
  return 0;
}

export async function scrape(t: TestApp): Promise<string> {
  const res = await t.http.get('/metrics');
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`);
  return res.text;
}
