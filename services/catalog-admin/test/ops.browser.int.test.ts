/**
 * The ops pages in headless Chromium against the real Jaeger and Elasticsearch of the stack: an
 * admin logs in, searches the log lines of a request, follows a log line to its trace, sees the
 * waterfall (the failed span's bar painted red, the services' bars in their colours), opens a
 * span's details and goes on to that span's log lines. No script from the data runs (a dialog
 * would fail the test). Debian's chromium, installed when missing (as the panel's browser test).
 * Screenshots go to $CATALOG_ADMIN_SCREENSHOTS (default: the OS temp folder).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { countPixels } from '@cinema/testing';
import { JaegerQuery } from '../src/adapters/jaeger.query';
import { ElasticLogSearch } from '../src/adapters/logs.search';
import { startBrowserPanel, type BrowserPanel } from './browser-panel';
import { seedOps, type OpsFixture } from './ops-fixtures';

const shots = process.env.CATALOG_ADMIN_SCREENSHOTS ?? os.tmpdir();

let fx: OpsFixture;
let panel: BrowserPanel;

beforeAll(async () => {
  fx = await seedOps();
  panel = await startBrowserPanel({
    database: 'catalog_admin_ops_browser',
    accounts: { 'ops@test': { password: 'ops-pass', roles: ['super_user'] } },
    ops: {
      traces: new JaegerQuery(fx.jaegerUrl),
      logs: new ElasticLogSearch(fx.es, fx.logsIndex),
    },
    chromium: {
      viewport: { width: 1280, height: 900 },
      profilePrefix: 'catalog-admin-ops-chromium',
    },
  });
}, 600_000);

afterAll(async () => {
  await panel?.close();
  await fx?.close();
});

// The page-side function's DOM (this file compiles without the DOM library).
declare function getComputedStyle(element: unknown): { color: string };

/** Pixels of a colour close to `rgb` (each channel within 11) in a screenshot of `selector`. */
const pixels = (page: Page, selector: string, [r, g, b]: [number, number, number]) =>
  countPixels(page, selector, { min: [r - 11, g - 11, b - 11], max: [r + 11, g + 11, b + 11] });

it('an admin follows a log line to its trace and a span back to its log lines', async () => {
  const page = await panel.browser.context.newPage();
  page.setDefaultTimeout(20_000);
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });

  await page.goto(`${panel.base}/admin/ops/logs`);
  await page.waitForURL(/\/admin\/login/);
  await page.fill('#email', 'ops@test');
  await page.fill('#password', 'ops-pass');
  await page.click('button[type=submit]');
  await page.waitForURL(/\/admin\/ops\/logs/);
  await page.getByRole('heading', { name: 'Logs' }).waitFor();

  // The request's log lines, by its request id.
  await page.fill('#requestId', fx.requestId);
  await page.selectOption('#lookback', '24h');
  await page.getByRole('button', { name: 'Find log lines' }).click();
  await page.locator('#logs tbody tr').first().waitFor();
  expect(await page.locator('#logs tbody tr').count()).toBe(4);
  await page.screenshot({ path: path.join(shots, 'catalog-admin-ops-logs.png'), fullPage: true });

  // The error line -> its trace, scrolled to its span.
  const errorLine = page.locator('#logs tbody tr', { hasText: 'film query failed' });
  await errorLine.locator('a.trace-link').click();
  await page.waitForURL(new RegExp(`/admin/ops/traces/${fx.traceId}#span-${fx.spans.db}$`));
  await page.locator('#waterfall').waitFor();
  const names = await page.locator('#waterfall > tbody > tr > td.name > strong').allInnerTexts();
  expect(names).toEqual([fx.services.gateway, fx.services.api, fx.services.api]);
  const failed = page.locator(`#span-${fx.spans.db}`);
  expect(await failed.getAttribute('class')).toBe('err');
  // Errors in red: the text and the bar.
  expect(await failed.locator('td.name').evaluate((e) => getComputedStyle(e).color)).toBe(
    'rgb(196, 36, 36)',
  );
  await page.screenshot({ path: path.join(shots, 'catalog-admin-ops-trace.png'), fullPage: true });
  const red = await pixels(page, `#span-${fx.spans.db} .track`, [196, 36, 36]);
  const apiBar = await pixels(page, `#span-${fx.spans.api} .track`, [196, 36, 36]);
  const trackWidth = (await page.locator(`#span-${fx.spans.db} .track`).boundingBox())!.width;
  // The failed span lasts 80 of 120 ms: about two thirds of its track is red, 12 px high.
  expect(red).toBeGreaterThan(trackWidth * 0.6 * 10);
  expect(apiBar).toBe(0);

  // A span's details, its attributes as text (the markup is not rendered), and its log lines.
  const api = page.locator(`#span-${fx.spans.api}`);
  await api.locator('summary').click();
  await api.getByText('film.title').waitFor();
  expect(await api.locator('b').count()).toBe(0);
  await api.getByRole('link', { name: 'Log lines of this span' }).click();
  await page.waitForURL(/\/admin\/ops\/logs\?traceId=/);
  await page.locator('#logs tbody tr').first().waitFor();
  expect(await page.locator('#logs tbody tr').allInnerTexts()).toEqual([
    expect.stringContaining('loading film <script>alert("x")</script><b>bold</b>'),
  ]);
  expect(dialogs).toEqual([]);
}, 120_000);
