import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { ROOT } from '../helpers/compiled-app';
import { startCompiledApp, type RunningApp } from '../helpers/running-app';
import { sessionsApi } from '../helpers/sessions-api';
import type { TestApp } from '../helpers/test-app';
import { createTestEnv, TEST_API_KEY, waitFor, type TestEnv } from '../helpers/test-env';
import { WebhookReceiver } from '../helpers/webhook-receiver';

/**
 * The operator's files in deploy/: the Prometheus alerts are valid rules
 * (`promtool check rules`) that fire when they should (`promtool test rules`
 * with deploy/prometheus/alerts.test.yml), the Grafana dashboard's queries are
 * valid PromQL, and every metric the dashboard and the alerts name is one the
 * running application (the compiled main.js, as deployed, with the sandbox)
 * exports on /metrics after real traffic (a session paired, a message sent,
 * a reconnect, webhook deliveries and a cleanup run), which also gives the
 * main panels real samples.
 */
const ALERTS = path.join(ROOT, 'deploy', 'prometheus', 'alerts.yml');
const ALERT_TESTS = path.join(ROOT, 'deploy', 'prometheus', 'alerts.test.yml');
const DASHBOARD = path.join(ROOT, 'deploy', 'grafana', 'zaphub.json');

const promtoolVersion = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const hasPromtool = !promtoolVersion.error && promtoolVersion.status === 0;
const inCi = process.env.CI === 'true';
if (!hasPromtool && !inCi) {
  // Locally the promtool checks are skipped with a visible note; in CI a missing promtool fails them.
  process.stderr.write('observability.int: promtool not found, skipping the promtool checks (run scripts/ensure-tools.sh)\n');
}
const withPromtool = hasPromtool || inCi ? it : it.skip;

function promtool(args: string[], cwd = ROOT): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { encoding: 'utf8', cwd, timeout: 60_000 });
  if (result.error) throw new Error(`promtool could not run (scripts/ensure-tools.sh installs it): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

interface Panel {
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: Array<{ expr?: string; refId?: string }>;
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { title: string; uid: string; panels: Panel[]; templating: { list: Array<{ name: string; type: string }> } };
const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');
/** Grafana's interval variable, which Prometheus does not know, replaced by a plain range. */
const dashboardExprs = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${p.title} ${t.refId}`, expr: (t.expr ?? '').replace(/\$__rate_interval/g, '5m') })));

/** Every `expr` of the alerting rules (a rule file is YAML; its expressions are read by a small parser of that shape). */
function alertExprs(): Array<{ where: string; expr: string }> {
  const lines = readFileSync(ALERTS, 'utf8').split('\n');
  const found: Array<{ where: string; expr: string }> = [];
  let alert = '';
  for (let i = 0; i < lines.length; i++) {
    const name = /^\s*- alert: (\S+)/.exec(lines[i]);
    if (name) alert = name[1];
    const m = /^(\s*)expr: (.*)$/.exec(lines[i]);
    if (!m) continue;
    if (m[2].trim() !== '|') {
      found.push({ where: alert, expr: m[2] });
      continue;
    }
    const body: string[] = [];
    while (i + 1 < lines.length && (lines[i + 1].trim() === '' || lines[i + 1].search(/\S/) > m[1].length)) body.push(lines[++i]);
    found.push({ where: alert, expr: body.join('\n') });
  }
  return found;
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects: identifiers that are not
 * functions (followed by "("), keywords, label names (inside {} or a
 * by/on/... list), strings, ranges, durations (offset 5m) or numbers.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/(?<![A-Za-z0-9_:])(?:\d+(?:ms|s|m|h|d|w|y))+(?![A-Za-z0-9_:])/g, ' ')
    .replace(/(?<![A-Za-z0-9_:])\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const rest = stripped.slice((m.index ?? 0) + m[0].length);
    if (/^\s*\(/.test(rest) || KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

describe('alerting rules and dashboard (deploy/)', () => {
  withPromtool('the alerts pass promtool check rules', () => {
    const result = promtool(['check', 'rules', ALERTS]);
    expect(result.status).toBe(0);
    expect(result.output).toMatch(/SUCCESS: \d+ rules found/);
  });

  withPromtool('each alert fires on the series that should fire it, and not on healthy ones (promtool test rules)', () => {
    const result = promtool(['test', 'rules', path.basename(ALERT_TESTS)], path.dirname(ALERT_TESTS));
    expect(result).toEqual({ status: 0, output: expect.stringMatching(/SUCCESS\s*$/) });
  });

  it('has an alert for every situation of issue #11, each with a tested expectation', () => {
    const alerts = alertExprs().map((a) => a.where);
    const required = [
      'ZapHubOldestPendingMessageTooOld',
      'ZapHubSendFailuresRising',
      'ZapHubCircuitOpen',
      'ZapHubPendingPromisesHigh',
      'ZapHubCleanupNotSuccessful',
      'ZapHubWebhookEndpointFailing',
      'ZapHubWorkerIdleWhileSessionsQueued',
    ];
    expect(alerts).toEqual(expect.arrayContaining(required));
    const tests = readFileSync(ALERT_TESTS, 'utf8');
    for (const alert of alerts) expect({ alert, tested: new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`).test(tests) }).toEqual({ alert, tested: true });
  });

  withPromtool("the dashboard's queries are valid PromQL (promtool check rules on them as recording rules)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'zaphub-dashboard-'));
    try {
      const rules = dashboardExprs.map((e, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(e.expr)}`).join('\n');
      writeFileSync(path.join(dir, 'dashboard-rules.yml'), `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
      const result = promtool(['check', 'rules', path.join(dir, 'dashboard-rules.yml')]);
      expect(result).toEqual({ status: 0, output: expect.stringContaining(`SUCCESS: ${dashboardExprs.length} rules found`) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is one dashboard whose every panel queries Prometheus through the datasource variable', () => {
    expect({ title: dashboard.title, uid: dashboard.uid }).toEqual({ title: 'ZapHub', uid: 'zaphub' });
    expect(dashboard.templating.list).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'datasource', type: 'datasource' })]));
    expect(queryPanels.length).toBeGreaterThanOrEqual(20);
    for (const panel of queryPanels) {
      expect({ panel: panel.title, uid: panel.datasource?.uid, targets: (panel.targets ?? []).length > 0 }).toEqual({ panel: panel.title, uid: '${datasource}', targets: true });
    }
  });

  it('finds the metric names of an expression (the comparison below is not vacuous)', () => {
    expect(metricNames('sum by (job, le) (rate(a_total{x="b(c)", y=~"d|e"}[$__rate_interval])) / on () group_left clamp_min(b_seconds offset 5m, 1e-9) > 0.5 and time() - c > 26 * 3600').sort()).toEqual([
      'a_total',
      'b_seconds',
      'c',
    ]);
    for (const { where, expr } of [...dashboardExprs, ...alertExprs()]) expect({ where, names: metricNames(expr).length > 0 }).toEqual({ where, names: true });
  });
});

describe('metrics the dashboard and the alerts use, against the running app after real traffic', () => {
  let env: TestEnv;
  let app: RunningApp | undefined;
  let receiver: WebhookReceiver;
  let scrape: string;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    env = await createTestEnv({ SANDBOX: 'true', WEBHOOK_ALLOW_PRIVATE: 'true', HUMANIZE_ENABLED: 'false' });
    app = await startCompiledApp('zaphub', env.env, (a) => (app = a));
    const http = request(app.base);
    const key = TEST_API_KEY;
    const api = sessionsApi({ http, apiKey: key } as unknown as TestApp);

    expect((await http.post('/api/webhooks').set('X-Api-Key', key).send({ url: receiver.url })).status).toBe(201);
    expect((await api.create('metrics')).status).toBe(201);
    await api.pair('metrics', undefined, 60_000);
    const sent = await http.post('/api/sessions/metrics/messages').set('X-Api-Key', key).send({ to: '5511988887777', type: 'text', text: 'hello' });
    expect(sent.status).toBe(202);
    await waitFor(
      async () => {
        const m = await http.get(`/api/messages/${sent.body.id}`).set('X-Api-Key', key);
        return ['SENT', 'DELIVERED', 'READ'].includes(m.body.status) ? true : null;
      },
      'the message to be sent',
      30_000,
    );
    // A dropped connection: counted as a reconnect (by reason), then the session comes back.
    expect((await api.disconnect('metrics', 428)).status).toBeLessThan(300);
    await waitFor(async () => ((await api.session('metrics')).stats.reconnects > 0 ? true : null), 'a reconnect', 30_000);
    await api.waitForStatus('metrics', 'WORKING', 30_000);
    await waitFor(async () => (receiver.delivered().length > 0 ? true : null), 'a webhook delivery', 30_000);
    const run = await http.post('/api/cleanup/processed/run').set('X-Api-Key', key);
    expect(run.status).toBe(202);
    await waitFor(
      async () => {
        const jobs = (await http.get('/api/cleanup').set('X-Api-Key', key)).body as Array<{ job: string; lastSuccessAt: string | null }>;
        return jobs.find((j) => j.job === 'processed')?.lastSuccessAt ? true : null;
      },
      'a successful cleanup run',
      30_000,
    );
    const res = await http.get('/metrics');
    expect(res.status).toBe(200);
    scrape = res.text;
  }, 150_000);

  afterAll(async () => {
    if (app && !app.proc.hasExited()) {
      app.proc.child.kill('SIGTERM');
      await app.proc.exited;
    }
    await receiver?.stop();
    await env?.cleanup();
  });

  it('exports every metric family the dashboard and the alerts name', () => {
    // Families from the TYPE lines (a labelled counter of rare events, such as background failures,
    // has no sample until the first one); a histogram is queried through its _bucket, _sum and _count.
    const exported = new Set<string>();
    for (const m of scrape.matchAll(/^# TYPE ([A-Za-z_:][A-Za-z0-9_:]*) (\w+)$/gm)) {
      const [, family, type] = m;
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(family + suffix);
      else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) exported.add(family + suffix);
      else exported.add(family);
    }
    expect(exported.size).toBeGreaterThan(50);
    const used = [...dashboardExprs, ...alertExprs()].flatMap(({ where, expr }) => metricNames(expr).map((name) => ({ where, name })));
    const missing = used.filter((u) => !exported.has(u.name));
    expect(missing).toEqual([]);
    // The comparison covers the contract's families, not a handful.
    expect(new Set(used.map((u) => u.name)).size).toBeGreaterThanOrEqual(35);
  });

  it('has samples, after this traffic, for the series the sessions, messages, webhooks and cleanup panels plot', () => {
    // A series of `name` whose labels include `labels`, with a value above 0.
    const sampled = (name: string, labels = '') =>
      scrape.split('\n').some((line) => {
        const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})? (\S+)/.exec(line);
        return m !== null && m[1] === name && (m[2] ?? '').includes(labels) && Number(m[3]) > 0;
      });
    expect({
      working: sampled('zaphub_sessions', 'status="WORKING"'),
      reconnects: sampled('zaphub_session_reconnects_total'),
      sent: sampled('zaphub_messages_total', 'status="SENT"'),
      sendLatency: sampled('zaphub_message_send_duration_seconds_count'),
      delivered: sampled('zaphub_webhook_deliveries_total', 'result="delivered"'),
      webhookLatency: sampled('zaphub_webhook_delivery_duration_seconds_count'),
      cleanup: sampled('zaphub_cleanup_last_success_timestamp_seconds', 'job="processed"'),
      eventLoop: sampled('nodejs_eventloop_lag_p99_seconds'),
    }).toEqual({ working: true, reconnects: true, sent: true, sendLatency: true, delivered: true, webhookLatency: true, cleanup: true, eventLoop: true });
  });
});
