import type { TestApp } from './test-app';
import { waitFor } from './test-env';

export interface SessionBody {
  name: string;
  status: string;
  lastError: string | null;
  me: { id: string; phone: string; pushName: string | null } | null;
  reconnect: { attempts: number; nextAttemptAt: string | null };
  circuit: { state: string; failures: number };
  pool: { position: number | null };
  stats: { connectedSince: string | null; reconnects: number };
}

/** Thin REST helpers for session tests: every call goes through the public HTTP API. */
export function sessionsApi(t: TestApp) {
  const key = (r: ReturnType<TestApp['http']['get']>) => r.set('X-Api-Key', t.apiKey);
  const api = {
    create: (name: string, extra: Record<string, unknown> = {}) => key(t.http.post('/api/sessions')).send({ name, ...extra }),
    get: (name: string) => key(t.http.get(`/api/sessions/${name}`)),
    action: (name: string, action: 'start' | 'stop' | 'restart' | 'logout' | 'reconnect' | 'circuit/reset') =>
      key(t.http.post(`/api/sessions/${name}/${action}`)),
    remove: (name: string) => key(t.http.delete(`/api/sessions/${name}`)),
    qr: (name: string) => key(t.http.get(`/api/sessions/${name}/qr`)),
    pool: () => key(t.http.get('/api/pool')),
    scan: (name: string, phone?: string) => key(t.http.post(`/api/sandbox/sessions/${name}/scan`)).send(phone ? { phone } : {}),
    disconnect: (name: string, code: number) => key(t.http.post(`/api/sandbox/sessions/${name}/disconnect`)).send({ code }),
    faults: (faults: Record<string, unknown>) => key(t.http.put('/api/sandbox/faults')).send(faults),

    async session(name: string): Promise<SessionBody> {
      const res = await api.get(name);
      if (res.status !== 200) throw new Error(`GET session ${name}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as SessionBody;
    },

    /** Waits until the session reaches `status` (checked through GET /api/sessions/:name). */
    waitForStatus(name: string, status: string, timeoutMs = 30000): Promise<SessionBody> {
      return waitFor(
        async () => {
          const s = await api.session(name);
          return s.status === status ? s : null;
        },
        `session ${name} to be ${status}`,
        timeoutMs,
        50,
      );
    },

    /**
     * Waits for SCAN_QR, scans the QR with the sandbox phone and waits for WORKING.
     * A 409 (the QR rotated or the connection was replaced between reading and
     * scanning, which happens on a loaded machine) is retried with the new QR;
     * it is the only answer tolerated. Anything else fails at once: another
     * scan status, a GET that is not 200, or no SCAN_QR within what is left of
     * `timeoutMs`.
     */
    async pair(name: string, phone?: string, timeoutMs = 30000): Promise<SessionBody> {
      const deadline = Date.now() + timeoutMs;
      let last = 'none yet';
      await waitFor(
        async () => {
          try {
            await api.waitForStatus(name, 'SCAN_QR', Math.max(0, deadline - Date.now()));
          } catch (error) {
            throw new Error(`${error instanceof Error ? error.message : String(error)} (last scan answer: ${last})`);
          }
          const scan = await api.scan(name, phone);
          last = `${scan.status} ${JSON.stringify(scan.body)}`;
          if (scan.status === 200) return true;
          if (scan.status !== 409) throw new Error(`scan ${name}: ${last}`);
          return false;
        },
        () => `a successful scan of ${name} (last answer: ${last})`,
        timeoutMs,
        200,
      );
      return api.waitForStatus(name, 'WORKING');
    },
  };
  return api;
}
