import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorText, type EventEnvelope, type Session } from '../api/client';
import { formatTime, Notice, StatusBadge } from '../components';
import { useAllSessionsEvents } from '../live';

/** A row is read again at most this often, however many events its session has (a burst of messages is one read). */
const ROW_REFRESH_MS = 300;

/**
 * The sessions, live: the list is read when the all-sessions stream (re)opens
 * (it does not resume, so that read covers what a disconnection missed), and a
 * session's row is read again after its events (status, and messages for its
 * counts). No interval polling.
 */
export function SessionsPage() {
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const rows = useRowRefresher(setSessions);

  const refresh = async () => {
    const { data, error: failure, response } = await api.GET('/api/sessions');
    if (data) {
      setSessions(data);
      setError(null);
    } else setError(errorText(failure, response));
  };

  useEffect(() => {
    void refresh();
  }, []);
  useAllSessionsEvents(
    (event: EventEnvelope) => {
      // A QR rotation changes nothing the row shows.
      if (event.event !== 'session.qr') rows.refresh(event.session);
    },
    () => void refresh(),
  );

  return (
    <section aria-labelledby="sessions-title">
      <h1 id="sessions-title">Sessions</h1>
      <CreateSession onCreated={(name) => (location.hash = `#/sessions/${name}`)} />
      <Notice error={error} />
      {sessions === null ? (
        <p>Loading…</p>
      ) : sessions.length === 0 ? (
        <p>No session yet: create one above.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Phone</th>
                <th scope="col">Connected since</th>
                <th scope="col">Sent / received / failed</th>
                <th scope="col">Reconnects</th>
                <th scope="col">Circuit</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((s) => (
                <tr key={s.name}>
                  <td>
                    <a href={`#/sessions/${s.name}`}>{s.name}</a>
                  </td>
                  <td>
                    <StatusBadge status={s.status} />
                  </td>
                  <td>{s.me?.phone ?? '—'}</td>
                  <td>{formatTime(s.stats.connectedSince)}</td>
                  <td>
                    {s.stats.sent} / {s.stats.received} / {s.stats.failed}
                  </td>
                  <td>{s.stats.reconnects}</td>
                  <td>
                    {s.circuit.state}
                    {s.circuit.failures ? ` (${s.circuit.failures})` : ''}
                  </td>
                  <td>
                    <SessionActions name={s.name} onDone={() => void refresh()} onError={setError} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/**
 * Reads one session again (GET /api/sessions/:name) at most every
 * ROW_REFRESH_MS, and puts it in the list: replaced, added when new, removed
 * when gone (404). An answer older than one already applied is dropped.
 */
function useRowRefresher(setSessions: (update: (list: Session[] | null) => Session[] | null) => void) {
  const state = useRef({ timers: new Map<string, number>(), asked: new Map<string, number>(), requests: 0 });
  useEffect(() => {
    const { timers } = state.current;
    return () => {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    };
  }, []);
  const read = async (name: string) => {
    const { asked } = state.current;
    const request = ++state.current.requests;
    asked.set(name, request);
    const { data, response } = await api.GET('/api/sessions/{name}', { params: { path: { name } } });
    if (asked.get(name) !== request) return;
    if (data) setSessions((list) => (list ? (list.some((s) => s.name === name) ? list.map((s) => (s.name === name ? data : s)) : [...list, data]) : list));
    else if (response.status === 404) setSessions((list) => list?.filter((s) => s.name !== name) ?? null);
  };
  return {
    refresh(name: string) {
      const { timers } = state.current;
      if (timers.has(name)) return;
      timers.set(
        name,
        window.setTimeout(() => {
          // Cleared before the read: an event during the read asks for the next one.
          timers.delete(name);
          void read(name);
        }, ROW_REFRESH_MS),
      );
    },
  };
}

function CreateSession({ onCreated }: { onCreated: (name: string) => void }) {
  const [name, setName] = useState('');
  const [start, setStart] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const { data, error: failure, response } = await api.POST('/api/sessions', { body: { name, start } });
    if (data) onCreated(data.name);
    else setError(errorText(failure, response));
  };
  return (
    <form class="inline" onSubmit={(e) => void submit(e)} aria-label="Create a session">
      <label for="new-session">New session name</label>
      <input id="new-session" required pattern="[A-Za-z0-9_\-]{1,64}" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <label class="check">
        <input type="checkbox" checked={start} onChange={(e) => setStart(e.currentTarget.checked)} /> start now
      </label>
      <button type="submit">Create</button>
      <Notice error={error} />
    </form>
  );
}

type Action = 'start' | 'stop' | 'restart' | 'logout';

/** start, stop, restart, logout, delete; the destructive ones ask first. */
export function SessionActions({ name, onDone, onError }: { name: string; onDone: () => void; onError: (message: string) => void }) {
  const act = async (action: Action | 'delete') => {
    if ((action === 'logout' || action === 'delete') && !confirm(`${action === 'delete' ? 'Delete' : 'Log out'} session ${name}? The linked device is removed at WhatsApp.`)) return;
    const path = { params: { path: { name } } };
    const result =
      action === 'delete'
        ? await api.DELETE('/api/sessions/{name}', path)
        : action === 'start'
          ? await api.POST('/api/sessions/{name}/start', path)
          : action === 'stop'
            ? await api.POST('/api/sessions/{name}/stop', path)
            : action === 'restart'
              ? await api.POST('/api/sessions/{name}/restart', path)
              : await api.POST('/api/sessions/{name}/logout', path);
    if (result.response.ok) onDone();
    else onError(errorText(result.error, result.response));
  };
  return (
    <div class="actions" role="group" aria-label={`Actions for ${name}`}>
      {(['start', 'stop', 'restart', 'logout'] as const).map((a) => (
        <button type="button" class="small secondary" onClick={() => void act(a)} key={a}>
          {a}
        </button>
      ))}
      <button type="button" class="small danger" onClick={() => void act('delete')}>
        delete
      </button>
    </div>
  );
}
