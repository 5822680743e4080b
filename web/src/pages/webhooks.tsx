import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api/client';
import { formatTime, Notice, StatusBadge } from '../components';
import type { components } from '../api/schema';

type Webhook = components['schemas']['WebhookView'];
type Delivery = components['schemas']['DeliveryView'];

/** The session's webhook endpoints (add, test, rotate secret, delete) and their deliveries (redeliver). */
export function Webhooks({ name }: { name: string }) {
  const [hooks, setHooks] = useState<Webhook[]>([]);
  const [deliveries, setDeliveries] = useState<Delivery[]>([]);
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const path = { params: { path: { name } } };

  const load = async () => {
    const [w, d] = await Promise.all([
      api.GET('/api/sessions/{name}/webhooks', path),
      api.GET('/api/webhooks/deliveries', { params: { query: { session: name, limit: 20 } } }),
    ]);
    if (w.data) setHooks(w.data);
    if (d.data) setDeliveries(d.data.items);
  };
  useEffect(() => {
    void load();
  }, [name]);

  const done = (result: { error?: unknown; response: Response }, shown?: string) => {
    if (result.response.ok) {
      setError(null);
      if (shown) setSecret(shown);
      void load();
    } else setError(errorText(result.error, result.response));
  };

  const add = async (e: Event) => {
    e.preventDefault();
    const result = await api.POST('/api/sessions/{name}/webhooks', { ...path, body: { url, events: ['*'] } });
    done(result, result.data?.secret);
    if (result.data) setUrl('');
  };
  const test = async (id: string) => done(await api.POST('/api/sessions/{name}/webhooks/{id}/test', { params: { path: { name, id } } }));
  const rotate = async (id: string) => {
    const result = await api.POST('/api/sessions/{name}/webhooks/{id}/rotate-secret', { params: { path: { name, id } }, body: {} });
    done(result, result.data?.secret);
  };
  const remove = async (id: string) => {
    if (confirm('Delete this webhook endpoint?')) done(await api.DELETE('/api/sessions/{name}/webhooks/{id}', { params: { path: { name, id } } }));
  };
  const redeliver = async (id: string) => done(await api.POST('/api/webhooks/deliveries/{id}/redeliver', { params: { path: { id } } }));

  return (
    <div class="card wide">
      <h2>Webhooks</h2>
      <form class="inline" onSubmit={(e) => void add(e)} aria-label="Add a webhook endpoint">
        <label for="hook-url">Endpoint URL</label>
        <input id="hook-url" type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
        <button type="submit">Add</button>
      </form>
      {secret && (
        <p role="status">
          Signing secret (shown once): <code class="code">{secret}</code>
        </p>
      )}
      <Notice error={error} />
      {hooks.length > 0 && (
        <ul class="hooks">
          {hooks.map((h) => (
            <li key={h.id}>
              <StatusBadge status={h.status} /> <code>{h.url}</code> <span class="hint">{h.events.join(', ')}</span>
              <span class="actions">
                <button type="button" class="small secondary" onClick={() => void test(h.id)}>
                  test
                </button>
                <button type="button" class="small secondary" onClick={() => void rotate(h.id)}>
                  rotate secret
                </button>
                <button type="button" class="small danger" onClick={() => void remove(h.id)}>
                  delete
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
      <h3>Deliveries</h3>
      {deliveries.length === 0 ? (
        <p>No delivery yet.</p>
      ) : (
        <div class="table-wrap">
          <table aria-label="Webhook deliveries">
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last answer</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((d) => (
                <tr key={d.id}>
                  <td>{formatTime(d.createdAt)}</td>
                  <td>{d.event}</td>
                  <td>
                    <StatusBadge status={d.status} />
                  </td>
                  <td>{d.attempts}</td>
                  <td>{d.lastStatusCode ?? d.lastError ?? '—'}</td>
                  <td>
                    <button type="button" class="small secondary" onClick={() => void redeliver(d.id)}>
                      redeliver
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
