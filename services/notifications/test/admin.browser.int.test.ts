/**
 * The campaigns panel in headless Chromium (Debian's, driven by playwright-core): log in through
 * a fake auth login API, compose a campaign scheduled a few seconds ahead, watch it run, pause
 * and resume it, see the delivery counts reach the audience. Screenshots go to
 * $NOTIFICATIONS_ADMIN_SCREENSHOTS (default: the OS temp folder).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { createPool } from '@cinema/pg';
import { launchChromium, type HeadlessChromium } from '@cinema/testing';
import { startService, suffix, type TestService } from './helpers';

const shots = process.env.NOTIFICATIONS_ADMIN_SCREENSHOTS ?? os.tmpdir();
const ADMIN_ID = randomUUID();

let svc: TestService;
let auth: Server;
let browser: HeadlessChromium;

beforeAll(async () => {
  // auth's login API: admin@test / admin-pass gets an admin token from the test issuer.
  let issue: () => Promise<string> = async () => '';
  auth = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}') as { email?: string; password?: string };
      if (
        req.url === '/api/v1/auth/login' &&
        body.email === 'admin@test' &&
        body.password === 'admin-pass'
      ) {
        void issue().then((accessToken) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ accessToken, tokenType: 'Bearer', expiresIn: 900 }));
        });
        return;
      }
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => auth.listen(0, '127.0.0.1', () => r()));
  svc = await startService({
    AUTH_URL: `http://127.0.0.1:${(auth.address() as AddressInfo).port}`,
    CAMPAIGN_POLL_SECONDS: '0.5',
    CAMPAIGN_BATCH_SIZE: '3',
    EMAIL_RATE_PER_SECOND: '1',
  });
  issue = () => svc.token(ADMIN_ID, ['admin']);
  browser = await launchChromium({ profilePrefix: 'notifications-admin-chromium' });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (svc) {
    await svc.close();
    const pool = createPool(process.env.DATABASE_URL!, { max: 1 });
    await pool.query(`DROP SCHEMA IF EXISTS "${svc.schema}_jobs" CASCADE`);
    await pool.end();
  }
  if (auth) await new Promise((r) => auth.close(r));
});

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(shots, `notifications-admin-${name}.png`), fullPage: true });

it('an admin schedules a campaign, watches it run, pauses and resumes it, and sees the counts', async () => {
  const tag = suffix();
  const emails: string[] = [];
  for (let i = 0; i < 12; i++) {
    const email = `b${tag}-${i}@example.test`;
    emails.push(email);
    await svc.deps.recipients.apply(
      { userId: randomUUID(), email, emailVerified: true, roles: [`viewer_${tag}`] },
      new Date(),
    );
  }
  const page = await browser.context.newPage();
  page.setDefaultTimeout(20_000);
  const errors: string[] = [];
  // Every response the pages load is fine (the browser's own favicon probe aside).
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico'))
      errors.push(`${r.status()} ${r.url()}`);
  });
  page.on('pageerror', (e) => errors.push(e.message));

  await page.goto(`${svc.url}/notifications/admin/campaigns`);
  await page.waitForURL(/\/notifications\/admin\/login/);
  await page.fill('#email', 'admin@test');
  await page.fill('#password', 'admin-pass');
  await page.click('button[type=submit]');
  await page.waitForURL(/\/notifications\/admin\/campaigns$/);
  const cookies = await browser.context.cookies();
  expect(cookies.find((c) => c.name === 'na_access')).toMatchObject({
    httpOnly: true,
    sameSite: 'Strict',
  });

  await page.click('text=New campaign >> nth=0');
  await page.fill('#title', 'Weekend <premieres>');
  await page.selectOption('#category', 'new_films');
  await page.uncheck('input[name=channels][value=in_app]');
  await page.fill('#subject', 'This weekend: {{film}}');
  await page.fill('#body', 'Hello! {{film}} opens on Saturday.');
  await page.fill('#vars', 'film=<i>Dune</i>');
  await page.selectOption('#audienceKind', 'role');
  await page.fill('input[name=role]', `viewer_${tag}`);
  const at = new Date(Date.now() + 4000).toISOString().slice(0, 16);
  await page.fill('#sendAt', at);
  await page.click('button[value=preview]');
  await page.getByRole('heading', { name: 'Preview' }).waitFor();
  expect(await page.locator('#preview-subject').innerText()).toBe('This weekend: <i>Dune</i>');
  await shot(page, 'preview');

  // The minute of `at` may already be past (the form has minute precision): then send now.
  if (new Date(`${at}:00Z`).getTime() < Date.now() - 50_000) await page.fill('#sendAt', '');
  await page.click('button[value=create]');
  await page.getByRole('status').getByText('Campaign created.').waitFor();
  expect(await page.locator('h1').first().innerText()).toBe('Weekend <premieres>');
  await page.locator('td[data-count=recipients]', { hasText: '12' }).waitFor();
  await page.locator('#state', { hasText: 'running' }).waitFor({ timeout: 70_000 });
  await shot(page, 'running');

  await page.click('button:has-text("Pause")');
  await page.getByRole('status').getByText('Paused.').waitFor();
  const sentAtPause = Number(await page.locator('td[data-count=sent]').innerText());
  expect(sentAtPause).toBeLessThan(12);
  await page.waitForTimeout(1500);
  expect(Number(await page.locator('td[data-count=sent]').innerText())).toBeLessThanOrEqual(
    sentAtPause + 1,
  );
  await shot(page, 'paused');

  await page.click('button:has-text("Resume")');
  await page.getByRole('status').getByText('Resumed.').waitFor();
  await page.locator('#state', { hasText: 'finished' }).waitFor({ timeout: 60_000 });
  await page.locator('td[data-count=sent]', { hasText: '12' }).waitFor();
  await shot(page, 'finished');
  expect(errors).toEqual([]);

  // CSRF: a POST without the form's token is refused.
  const forged = await page.evaluate(
    async (url) =>
      (await fetch(url, { method: 'POST', body: new URLSearchParams({ _csrf: 'x' }) })).status,
    `${svc.url}/notifications/admin/campaigns/1/cancel`,
  );
  expect(forged).toBe(403);
}, 180_000);
