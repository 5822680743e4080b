import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/test-app';

const ROOT = path.join(__dirname, '..', '..');
/** Debian's chromium (scripts/ensure-tools.sh installs it); CHROMIUM_PATH overrides. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** UPDATE_SCREENSHOTS=1 writes the README's screenshots; otherwise they go to a temporary folder. */
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? path.join(ROOT, 'docs', 'images') : mkdtempSync(path.join(tmpdir(), 'zaphub-shots-'));

/**
 * The dashboard in a real browser (playwright-core driving Debian's
 * Chromium) against the real service in sandbox mode: sign in, create a
 * session, see its QR, scan it with the sandbox's fake phone, see WORKING
 * without reloading, send a text, see it SENT and the message.sent event
 * arrive live, send a file, see the sessions list follow another session's
 * status live, find a session's recent events after a reload, sign out.
 */
describe('dashboard in a browser', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let outDir: string;

  const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `dashboard-${name}.png`), fullPage: true });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: install it with \`bash scripts/ensure-tools.sh\` (Debian package chromium), or set CHROMIUM_PATH`);
    }
    outDir = mkdtempSync(path.join(tmpdir(), 'zaphub-dashboard-'));
    const build = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'web/vite.config.mts', '--outDir', outDir, '--logLevel', 'warn'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (build.status !== 0) throw new Error(`vite build failed: ${build.stdout}${build.stderr}`);
    // Receipts far away, so the message stays SENT long enough to be seen so; no typing delay.
    t = await startTestApp({ SANDBOX: 'true', DASHBOARD_DIR: outDir, STATUS_DEBOUNCE_MS: '0', HUMANIZE_ENABLED: 'false', SANDBOX_DELIVERY_RECEIPT_MS: '600000' });
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Without the background-networking flags Chromium keeps calling Google's hosts, which this network refuses.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
    if (process.env.UPDATE_SCREENSHOTS !== '1') rmSync(SCREENSHOTS, { recursive: true, force: true });
  });

  it('links a sandbox session and sends a message from the browser alone', async () => {
    await page.goto(`${t.baseUrl}/dashboard`);
    await page.getByLabel('API key').fill('wrong-key-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong API key' }).waitFor();
    await page.getByLabel('API key').fill(t.apiKey);
    await shot('sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();
    const cookie = (await page.context().cookies()).find((c) => c.name === 'zaphub_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

    await page.getByLabel('New session name').fill('demo');
    await page.getByRole('button', { name: 'Create' }).click();
    const title = page.getByRole('heading', { level: 1 });
    await title.filter({ hasText: 'demo' }).waitFor();
    // The QR, as an image, once the session waits for a scan.
    const qr = page.getByRole('img', { name: /QR code to link session demo/ });
    await qr.waitFor({ timeout: 30_000 });
    expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    await title.filter({ hasText: 'SCAN_QR' }).waitFor();
    await shot('session-qr');

    // The fake phone scans; the page follows the session's events (no reload).
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));
    await page.getByRole('button', { name: 'Scan with a fake phone' }).click();
    await title.filter({ hasText: 'WORKING' }).waitFor({ timeout: 30_000 });
    await qr.waitFor({ state: 'detached' });

    await page.getByLabel('To (phone number or chat id)').fill('5511988887777');
    await page.getByLabel('Text', { exact: true }).fill('Hello from the dashboard');
    await page.getByRole('button', { name: 'Send' }).click();
    const row = page.getByRole('table', { name: 'Recent messages' }).getByRole('row').filter({ hasText: 'Hello from the dashboard' });
    await row.filter({ hasText: 'SENT' }).waitFor({ timeout: 30_000 });
    await page.getByRole('list', { name: 'Live events' }).getByRole('listitem').filter({ hasText: 'message.sent' }).waitFor();
    // A file too: sent as a document, with the text as its caption.
    await page.getByLabel(/^File/).setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('minutes of the meeting') });
    await page.getByLabel('Text', { exact: true }).fill('the notes');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('table', { name: 'Recent messages' }).getByRole('row').filter({ hasText: 'the notes' }).filter({ hasText: 'SENT' }).waitFor({ timeout: 30_000 });
    expect(navigations).toEqual([]);
    await shot('session');

    // The other pages, and a phone-width screen.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sessions' }).click();
    await page.getByRole('table').getByRole('row').filter({ hasText: 'demo' }).filter({ hasText: 'WORKING' }).waitFor();
    // The list is live (the all-sessions stream): a session created and started through the API,
    // not by this page, appears and its badge follows its status, with no reload and no polling.
    const listNavigations: string[] = [];
    const listReads: string[] = [];
    const onNavigated = (frame: { url(): string }) => listNavigations.push(frame.url());
    const onRequest = (req: { url(): string; method(): string }) => {
      if (req.method() === 'GET' && new URL(req.url()).pathname === '/api/sessions') listReads.push(req.url());
    };
    page.on('framenavigated', onNavigated);
    page.on('request', onRequest);
    const key = (r: ReturnType<typeof t.http.post>) => r.set('X-Api-Key', t.apiKey);
    expect((await key(t.http.post('/api/sessions')).send({ name: 'second', start: false })).status).toBe(201);
    expect((await key(t.http.post('/api/sessions/second/start')).send()).status).toBeLessThan(300);
    const second = page.getByRole('table').getByRole('row').filter({ hasText: 'second' });
    await second.filter({ hasText: 'SCAN_QR' }).waitFor({ timeout: 30_000 });
    expect((await key(t.http.post('/api/sandbox/sessions/second/scan')).send({})).status).toBe(200);
    await second.filter({ hasText: 'WORKING' }).waitFor({ timeout: 30_000 });
    // Longer than the old 5 s refresh: the list is not read again while the stream stays open.
    await page.waitForTimeout(6000);
    page.off('framenavigated', onNavigated);
    page.off('request', onRequest);
    expect(listNavigations).toEqual([]);
    expect(listReads).toEqual([]);
    await shot('sessions');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Pool' }).waitFor();
    await page.getByRole('table', { name: 'Queues' }).getByRole('row').filter({ hasText: 'message-send' }).waitFor();
    await shot('overview');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${t.baseUrl}/dashboard/#/sessions/demo`);
    await title.filter({ hasText: 'WORKING' }).waitFor();
    // After a reload the events list starts with the session's recent history (then goes on live):
    // the message.sent events from before are there, each event once, newest first.
    const eventItems = page.getByRole('list', { name: 'Live events' }).getByRole('listitem');
    await eventItems.filter({ hasText: 'message.sent' }).first().waitFor();
    const shown = (await eventItems.allTextContents()).map((text) => Number(/^#(\d+)/.exec(text)![1]));
    expect(shown).toEqual([...new Set(shown)].sort((a, b) => b - a));
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot('phone');

    // Sign out: back to the form, and the old cookie is refused by the server.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    const res = await fetch(`${t.baseUrl}/api/sessions`, { headers: { Cookie: `zaphub_session=${cookie!.value}` } });
    expect(res.status).toBe(401);
  });
});
