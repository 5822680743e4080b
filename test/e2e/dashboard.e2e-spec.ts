import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestApp, type TestApp } from '../helpers/test-app';

const ROOT = path.join(__dirname, '..', '..');
const SCHEMA = path.join(ROOT, 'web', 'src', 'api', 'schema.d.ts');
const bin = (pkg: string, file: string) => path.join(ROOT, 'node_modules', pkg, file);

/**
 * GET /dashboard: the page built from web/ (vite, here into a temporary
 * folder), served with a CSP that allows its own assets only; its API types
 * generated from the live OpenAPI document (so an API change shows here and
 * then breaks the page's type check).
 */
describe('dashboard page', () => {
  let t: TestApp;
  let outDir: string;

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), 'zaphub-dashboard-'));
    const build = spawnSync(process.execPath, [bin('vite', 'bin/vite.js'), 'build', '--config', 'web/vite.config.mts', '--outDir', outDir, '--logLevel', 'warn'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (build.status !== 0) throw new Error(`vite build failed: ${build.stdout}${build.stderr}`);
    t = await startTestApp({ SANDBOX: 'true', DASHBOARD_DIR: outDir });
  });
  afterAll(async () => {
    await t?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('serves the page without credentials (it holds no data), with a strict CSP', async () => {
    const redirect = await t.http.get('/dashboard');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('/dashboard/');
    const page = await t.http.get('/dashboard/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['cache-control']).toBe('no-cache');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    // No inline script or style: everything the page runs is one of its own files.
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.text).not.toMatch(/<style/);
    const assets = [...page.text.matchAll(/(?:src|href)="(\/dashboard\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      const res = await t.http.get(asset);
      expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    }
    expect((await t.http.get('/dashboard/nope.js')).status).toBe(404);
    // The API docs keep working without the strict CSP.
    expect((await t.http.get('/docs')).headers['content-security-policy']).toBeUndefined();
  });

  it('tells the page about the deployment (GET /api/dashboard)', async () => {
    expect((await t.http.get('/api/dashboard')).status).toBe(401);
    const info = await t.http.get('/api/dashboard').set('X-Api-Key', t.apiKey);
    expect(info.body).toEqual({ sandbox: true, role: 'all' });
  });

  it('type-checks the page against the current OpenAPI document (UPDATE_DASHBOARD_API=1 rewrites web/src/api/schema.d.ts)', async () => {
    const doc = await t.http.get('/docs-json');
    // Under node_modules/ so that the copy resolves preact and openapi-fetch like web/ does.
    const dir = mkdtempSync(path.join(ROOT, 'node_modules', '.cache-zaphub-web-'));
    try {
      const docFile = path.join(dir, 'openapi.json');
      writeFileSync(docFile, JSON.stringify(doc.body));
      cpSync(path.join(ROOT, 'web', 'src'), path.join(dir, 'src'), { recursive: true });
      cpSync(path.join(ROOT, 'web', 'tsconfig.json'), path.join(dir, 'tsconfig.json'));
      const typesFile = path.join(dir, 'src', 'api', 'schema.d.ts');
      const gen = spawnSync(process.execPath, [bin('openapi-typescript', 'bin/cli.js'), docFile, '--output', typesFile], { encoding: 'utf8', timeout: 60_000 });
      if (gen.status !== 0) throw new Error(`openapi-typescript failed: ${gen.stderr}`);
      const fresh = readFileSync(typesFile, 'utf8');
      if (process.env.UPDATE_DASHBOARD_API === '1') writeFileSync(SCHEMA, fresh);
      // The page must compile against the API as it is now. A committed copy of the types that
      // differs but still compiles is not a failure (API changes elsewhere need not touch web/).
      const tsc = spawnSync(process.execPath, [bin('typescript', 'bin/tsc'), '--noEmit', '-p', path.join(dir, 'tsconfig.json')], { encoding: 'utf8', timeout: 120_000 });
      if (tsc.status !== 0) {
        throw new Error(
          `the dashboard no longer compiles against the API:\n${tsc.stdout}${tsc.stderr}\n` +
            'Regenerate its types (UPDATE_DASHBOARD_API=1 npx jest --config test/jest-e2e.js test/e2e/dashboard.e2e-spec.ts) and fix web/src.',
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
