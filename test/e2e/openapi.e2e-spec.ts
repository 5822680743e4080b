import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestApp, type TestApp } from '../helpers/test-app';

/**
 * The OpenAPI document served at /docs-json is one generated clients can use:
 * `redocly lint` (recommended rules, configured in redocly.yaml) finds no
 * problem in it, and TypeScript types generated from it by openapi-typescript
 * type-check a small client that calls the API with them. The document is the
 * live one (SANDBOX=true, so the sandbox routes are in it too), not a copy.
 */
const ROOT = path.join(__dirname, '..', '..');
const bin = (pkg: string, file: string) => path.join(ROOT, 'node_modules', pkg, file);
// Offline and quiet: no telemetry, no update check (the machine may have no internet).
const REDOCLY_ENV = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' };

/**
 * A client written against the generated types: a typed call of a route with a
 * path parameter and a typed body, and uses the types must refuse
 * (`@ts-expect-error` fails the compile when the error it expects is missing,
 * so types that had decayed to `any` or lost a parameter fail the test).
 */
const CLIENT = `
import type { components, operations, paths } from './zaphub-api';

type GetSession = paths['/api/sessions/{name}']['get'];
type Session = GetSession['responses'][200]['content']['application/json'];
type SendMessage = paths['/api/sessions/{name}/messages']['post'];
type SendBody = NonNullable<SendMessage['requestBody']>['content']['application/json'];
type Accepted = SendMessage['responses'][202]['content']['application/json'];
type ErrorBody = components['schemas']['ErrorBody'];

export async function getSession(baseUrl: string, apiKey: string, path: GetSession['parameters']['path']): Promise<Session> {
  const res = await fetch(\`\${baseUrl}/api/sessions/\${encodeURIComponent(path.name)}\`, { headers: { 'X-Api-Key': apiKey } });
  if (!res.ok) {
    const error = (await res.json()) as ErrorBody;
    throw new Error(\`\${error.statusCode} \${error.message} (\${error.requestId})\`);
  }
  return (await res.json()) as Session;
}

export async function sendText(baseUrl: string, apiKey: string, name: string, body: SendBody): Promise<Accepted> {
  const res = await fetch(\`\${baseUrl}/api/sessions/\${encodeURIComponent(name)}/messages\`, {
    method: 'POST',
    headers: { 'X-Api-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await res.json()) as Accepted;
}

export async function usage(baseUrl: string, apiKey: string): Promise<string> {
  const session = await getSession(baseUrl, apiKey, { name: 'sales' });
  const status: string = session.status;
  const accepted = await sendText(baseUrl, apiKey, session.name, { to: '5511999998888', type: 'text', text: 'hello' });
  const id: string = accepted.id;
  return \`\${status} \${id}\`;
}

// @ts-expect-error the session name is a required path parameter
export const missingName: GetSession['parameters']['path'] = {};
// @ts-expect-error a session's status is a string, not a number
export const wrongStatus: number = ({} as Session).status;
// Every operation has an operationId (redocly.yaml), so 'operations' names each one.
export type AnyOperation = operations[keyof operations];
`;

interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: Array<{ ruleId: string; severity: string; message: string; location?: unknown }>;
}

/** `redocly lint --format json` of one file with the project's redocly.yaml. */
function lint(file: string): LintReport {
  const result = spawnSync(process.execPath, [bin('@redocly/cli', 'bin/cli.js'), 'lint', '--config', path.join(ROOT, 'redocly.yaml'), '--format', 'json', file], {
    encoding: 'utf8',
    env: REDOCLY_ENV,
    timeout: 60_000,
  });
  if (result.error) throw result.error;
  let report: LintReport & { version?: string };
  try {
    report = JSON.parse(result.stdout) as LintReport;
  } catch {
    throw new Error(`redocly lint printed no JSON report (exit ${result.status}):\n${result.stdout}${result.stderr}`);
  }
  // The exit status agrees with the report: non-zero exactly when there are errors.
  expect({ exit: result.status, errors: report.totals.errors }).toEqual({ exit: report.totals.errors ? 1 : 0, errors: report.totals.errors });
  return { totals: report.totals, problems: report.problems.map(({ ruleId, severity, message, location }) => ({ ruleId, severity, message, location })) };
}

describe('OpenAPI document (/docs-json)', () => {
  let t: TestApp;
  let dir: string;
  let documentFile: string;

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true' });
    const res = await t.http.get('/docs-json');
    expect(res.status).toBe(200);
    dir = mkdtempSync(path.join(tmpdir(), 'zaphub-openapi-'));
    documentFile = path.join(dir, 'openapi.json');
    writeFileSync(documentFile, JSON.stringify(res.body, null, 2));
  });
  afterAll(async () => {
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes redocly lint with the rules of redocly.yaml: no error, no warning', () => {
    expect(lint(documentFile)).toEqual({ totals: { errors: 0, warnings: 0, ignored: 0 }, problems: [] });
  });

  it('would fail the lint for an /api operation that does not document its 401 or a path parameter (the rules are not vacuous)', () => {
    const broken = JSON.parse(readFileSync(documentFile, 'utf8')) as { paths: Record<string, Record<string, { responses: Record<string, unknown>; parameters: unknown[] }>> };
    delete broken.paths['/api/sessions/{name}'].get.responses['401'];
    broken.paths['/api/messages/{id}'].get.parameters = [];
    const brokenFile = path.join(dir, 'broken.json');
    writeFileSync(brokenFile, JSON.stringify(broken));
    const { totals, problems } = lint(brokenFile);
    expect(totals.errors).toBe(2);
    expect(problems.map((p) => p.ruleId).sort()).toEqual(['path-parameters-defined', 'rule/api-operation-documents-401']);
  });

  it('generates TypeScript types with openapi-typescript that a typed client compiles against', () => {
    const typesFile = path.join(dir, 'zaphub-api.ts');
    const gen = spawnSync(process.execPath, [bin('openapi-typescript', 'bin/cli.js'), documentFile, '--output', typesFile], {
      encoding: 'utf8',
      cwd: dir,
      timeout: 60_000,
    });
    if (gen.error) throw gen.error;
    expect({ status: gen.status, stderr: gen.status === 0 ? '' : gen.stderr }).toEqual({ status: 0, stderr: '' });
    writeFileSync(path.join(dir, 'client.ts'), CLIENT);
    const tsc = spawnSync(
      process.execPath,
      [
        bin('typescript', 'bin/tsc'),
        '--noEmit',
        '--strict',
        '--target',
        'es2022',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--types',
        'node',
        '--typeRoots',
        path.join(ROOT, 'node_modules', '@types'),
        path.join(dir, 'client.ts'),
      ],
      { encoding: 'utf8', cwd: dir, timeout: 60_000 },
    );
    if (tsc.error) throw tsc.error;
    expect({ status: tsc.status, output: `${tsc.stdout}${tsc.stderr}`.trim() }).toEqual({ status: 0, output: '' });
  });
});
