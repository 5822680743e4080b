import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client';
import { formatTime } from '../components';
import type { components } from '../api/schema';

type Pool = components['schemas']['SessionPoolView'];
type Flows = components['schemas']['FlowsViewDto'];
type QueueCounts = components['schemas']['QueueCountsView'];
type CleanupRun = components['schemas']['CleanupJobView'];

/**
 * Pool, flows, queue depths and the cleanup jobs' last runs, read every few
 * seconds: they are gauges of the processes and queues, not events, so no
 * stream carries them (the sessions list and a session's page are live).
 */
const REFRESH_MS = 5000;

export function Overview() {
  const [pool, setPool] = useState<Pool | null>(null);
  const [flows, setFlows] = useState<Flows | null>(null);
  const [queues, setQueues] = useState<QueueCounts[]>([]);
  const [cleanup, setCleanup] = useState<CleanupRun[]>([]);

  useEffect(() => {
    const load = async () => {
      const [p, f, q, c] = await Promise.all([api.GET('/api/pool'), api.GET('/api/flows'), api.GET('/api/queues'), api.GET('/api/cleanup')]);
      if (p.data) setPool(p.data);
      if (f.data) setFlows(f.data);
      if (q.data) setQueues(q.data);
      if (c.data) setCleanup(c.data);
    };
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <div class="grid">
        <div class="card">
          <h2>Pool</h2>
          {pool && (
            <dl>
              <dt>Active / max</dt>
              <dd>
                {pool.active} / {pool.max} ({Math.round(pool.utilization * 100)}%)
              </dd>
              <dt>Waiting</dt>
              <dd>{pool.waiting.length ? pool.waiting.join(', ') : 'none'}</dd>
            </dl>
          )}
        </div>
        <div class="card">
          <h2>Flows</h2>
          {flows && (
            <dl>
              <dt>Active</dt>
              <dd>{flows.active}</dd>
              <dt>Oldest (s)</dt>
              <dd>{flows.oldestAgeSeconds}</dd>
              <dt>Pending promises</dt>
              <dd>{flows.pendingPromises}</dd>
              <dt>Expired (total)</dt>
              <dd>{flows.expiredTotal}</dd>
            </dl>
          )}
        </div>
      </div>
      <div class="card wide">
        <h2>
          Queues <a href="/admin/queues">(open the queue board)</a>
        </h2>
        <div class="table-wrap">
          <table aria-label="Queues">
            <thead>
              <tr>
                <th scope="col">Queue</th>
                <th scope="col">Waiting</th>
                <th scope="col">Active</th>
                <th scope="col">Delayed</th>
                <th scope="col">Failed</th>
                <th scope="col">Paused</th>
              </tr>
            </thead>
            <tbody>
              {queues.map((q) => (
                <tr key={q.name}>
                  <td>{q.name}</td>
                  <td>{q.waiting}</td>
                  <td>{q.active}</td>
                  <td>{q.delayed}</td>
                  <td>{q.failed}</td>
                  <td>{q.paused ? 'yes' : 'no'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
      <div class="card wide">
        <h2>Cleanup</h2>
        <div class="table-wrap">
          <table aria-label="Cleanup jobs">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Last run</th>
                <th scope="col">Last success</th>
                <th scope="col">Rows</th>
                <th scope="col">Error</th>
                <th scope="col">Next run</th>
              </tr>
            </thead>
            <tbody>
              {cleanup.map((c) => (
                <tr key={c.job}>
                  <td>{c.job}</td>
                  <td>{formatTime(c.lastRunAt)}</td>
                  <td>{formatTime(c.lastSuccessAt)}</td>
                  <td>{c.lastRows ?? '—'}</td>
                  <td>{c.lastError ?? '—'}</td>
                  <td>{formatTime(c.nextRunAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </section>
  );
}
