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

    /** Creates (or starts) a session, scans its QR with the sandbox phone and waits for WORKING. */
    async pair(name: string, phone?: string): Promise<SessionBody> {
      await api.waitForStatus(name, 'SCAN_QR');
      const scan = await api.scan(name, phone);
      if (scan.status >= 300) throw new Error(`scan ${name}: ${scan.status} ${JSON.stringify(scan.body)}`);
      return api.waitForStatus(name, 'WORKING');
    },
  };
  return api;
}
