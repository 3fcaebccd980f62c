/**
 * The gateway's landing page in headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core; installed through the stack's apt helper when missing): nginx of a stack home
 * of its own serves the generated page; its links lead through the gateway; a hostile film title
 * shows as text; nothing is loaded from anywhere else. The screenshot goes to
 * $STACK_SCREENSHOTS (default: the OS temp folder).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { aptInstall, fallbackDataDir, stopPid, type RunningServer } from '../src/core';
import { renderLandingPage } from '../src/landing';
import { nginx, writeGatewayRoutes, writeLandingPage } from '../src/servers/nginx';

const CHROMIUM = '/usr/bin/chromium';
const shots = process.env.STACK_SCREENSHOTS ?? os.tmpdir();
const FILM = '3d825f60-9fff-4dfe-b294-1a45fa1e115d';
const TITLE = `Star Wars <img src=x onerror="document.title='pwned'"> & "Co"`;

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-landing-'));
const previousHome = process.env.STACK_HOME;
let upstream: http.Server;
let gateway: RunningServer;
let context: BrowserContext;
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-landing-chromium-'));

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    await aptInstall('chromium', ['chromium'], path.join(os.tmpdir(), 'chromium-install.log'));
  }
  process.env.STACK_HOME = home;
  // Stands in for the services behind the gateway: answers with the path it was asked.
  upstream = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><title>upstream</title><p id="path">${encodeURI(req.url ?? '')}</p>`);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const backend = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gateway = await nginx.start({});
  await writeGatewayRoutes([
    { prefix: '/player', upstream: backend },
    { prefix: '/admin', upstream: backend },
    { prefix: '/docs/auth/', upstream: `${backend}/docs/` },
  ]);
  writeLandingPage(
    renderLandingPage({
      player: { href: `/player/?film=${FILM}`, filmTitle: TITLE },
      admin: { href: '/admin/', email: 'admin@cinema.local' },
      ops: { href: '/admin/ops/traces' },
      docs: [{ href: '/docs/auth/', label: 'auth', note: '/api/v1/auth, /auth' }],
      mailCatcher: 'http://127.0.0.1:9/',
    }),
  );
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'],
  });
}, 120_000);

afterAll(async () => {
  await context?.close();
  if (gateway?.pid) await stopPid(gateway.pid, 5000);
  await new Promise((resolve) => upstream?.close(resolve));
  if (previousHome === undefined) delete process.env.STACK_HOME;
  else process.env.STACK_HOME = previousHome;
  fs.rmSync(path.dirname(fallbackDataDir('nginx', home)), { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(profile, { recursive: true, force: true });
});

it('shows the links, escapes the title, loads nothing from elsewhere, and its links lead through the gateway', async () => {
  const base = gateway.env.GATEWAY_URL!;
  const page = await context.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

  const res = await page.goto(`${base}/`);
  expect(res?.status()).toBe(200);
  expect(await page.title()).toBe('Cinema platform');
  await page.screenshot({ path: path.join(shots, 'stack-landing.png'), fullPage: true });

  const links = await page.$$eval('a', (as) =>
    as.map((a) => ({ text: a.textContent, href: a.getAttribute('href') })),
  );
  expect(links).toEqual([
    { text: `Watch “${TITLE}” in the player`, href: `/player/?film=${FILM}` },
    { text: 'Admin panel', href: '/admin/' },
    { text: 'Traces and logs', href: '/admin/ops/traces' },
    { text: 'auth', href: '/docs/auth/' },
    { text: 'Mail catcher', href: 'http://127.0.0.1:9/' },
  ]);
  expect(await page.$$('img, script, iframe, link[rel="stylesheet"]')).toHaveLength(0);
  expect(await page.textContent('body')).toContain('Log in as admin@cinema.local');
  // One request: the page itself.
  expect(requests).toEqual([`${base}/`]);
  expect(errors).toEqual([]);

  await page.click('text=in the player');
  await page.waitForURL(`${base}/player/?film=${FILM}`);
  expect(await page.textContent('#path')).toBe(`/player/?film=${FILM}`);
  await page.goto(`${base}/`);
  await page.click('text=Traces and logs');
  expect(await page.textContent('#path')).toBe('/admin/ops/traces');
  await page.goto(`${base}/`);
  await page.click('text=auth');
  expect(await page.textContent('#path')).toBe('/docs/');
  await page.close();
}, 60_000);
