/**
 * The analytics page end to end: the viewer simulator plays seeded sessions for a few seconds
 * against the collector and catalog-api (each built by its own wiring, on the stack's Kafka,
 * Elasticsearch and Redis; a small catalog indexed for the run); ugc-etl loads the events into
 * ClickHouse; its soak check finds exactly the accepted events stored; then headless Chromium
 * logs in to /analytics (through a stand-in of auth's login API) and every chart is drawn from
 * data, with its table of numbers. The screenshot is checked for drawn charts and kept in
 * $ANALYTICS_SCREENSHOTS (default: the OS temp folder).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULTS, run, soakCheck, type Stats } from '@cinema/simulator';
import {
  launchChromium,
  startTestIssuer,
  type HeadlessChromium,
  type TestIssuer,
} from '@cinema/testing';
import { issuerEnv, startPipeline, type Pipeline } from './pipeline';

jest.setTimeout(240_000);

/* Browser globals used inside page functions (this project's TypeScript has no DOM typings). */
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

const shots = process.env.ANALYTICS_SCREENSHOTS ?? os.tmpdir();

describe('simulator -> collector/catalog-api -> Kafka -> ETL -> /analytics in Chromium', () => {
  let issuer: TestIssuer;
  let auth: Server;
  let pipeline: Pipeline;
  let browser: HeadlessChromium;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    // auth's login API: analyst@test / pw gets an admin token.
    auth = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const body = JSON.parse(raw || '{}') as { email?: string; password?: string };
        if (body.email !== 'analyst@test' || body.password !== 'pw') {
          res.writeHead(401, { 'content-type': 'application/json' });
          return res.end('{}');
        }
        void issuer.token(randomUUID(), ['admin']).then((accessToken) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ accessToken, tokenType: 'Bearer', expiresIn: 900 }));
        });
      });
    });
    await new Promise<void>((r) => auth.listen(0, '127.0.0.1', () => r()));
    pipeline = await startPipeline({
      name: 'analytics-e2e',
      tag: 'an',
      auth: issuerEnv(issuer),
      // The analytics page logs in through auth's login API (the stand-in above).
      etlEnv: { AUTH_URL: `http://127.0.0.1:${(auth.address() as AddressInfo).port}` },
      catalog: { films: 30, genres: 4, persons: 12, titles: ['Star River', 'Dark City'] },
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await pipeline?.close();
    if (auth) await new Promise((r) => auth.close(r));
    await issuer?.close();
  });

  it('simulated viewers fill every chart of the page', async () => {
    // 1. The simulator: 8 s of arrivals at 4 sessions/s, sessions of ~6 s.
    const tokens = await Promise.all([1, 2, 3].map(() => issuer.token(randomUUID())));
    const stats: Stats = await run({
      ...DEFAULTS,
      seed: 7,
      loggedInShare: 0.7,
      sessionSeconds: 6,
      badNetworkShare: 0.6,
      finishShare: 0.5,
      targets: { collector: pipeline.collector.url, catalog: pipeline.catalog!.url },
      arrivalRate: 4,
      seconds: 8,
      tokens,
      filmIds: pipeline.catalog!.index.catalog.films.slice(0, 12).map((f) => f.id),
    });
    const sent = Object.values(stats.events).reduce((n, e) => n + e.sent, 0);
    expect(stats.sessions).toBeGreaterThan(15);
    expect(stats.events.pause.accepted).toBeGreaterThan(0);
    expect(stats.events.quality_change.accepted).toBeGreaterThan(0);
    expect(stats.events.full_view.accepted).toBeGreaterThan(0);
    expect(stats.accepted.size).toBe(sent); // every event accepted
    expect(stats.networkErrors).toEqual({});
    for (const t of ['collector', 'catalog'] as const)
      expect([t, stats.status[t]['5xx'], stats.status[t].network]).toEqual([t, 0, 0]);
    expect(stats.pageViews.search).toBeGreaterThan(0);

    // 2. The soak check: exactly the accepted events are stored, by kind and film.
    const analyst = await issuer.token(randomUUID(), ['admin']);
    const soak = await soakCheck(stats, {
      analytics: pipeline.etl.url,
      token: analyst,
      waitSeconds: 60,
    });
    expect([soak.ok, soak.missing, soak.duplicates]).toEqual([true, 0, 0]);
    expect(soak.rows.reduce((n, r) => n + r.stored, 0)).toBe(stats.accepted.size);

    // The page views (catalog-api -> Kafka -> ETL) arrive on their own path: wait for them.
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${pipeline.etl.url}/api/v1/analytics/charts/searches`, {
        headers: { authorization: `Bearer ${analyst}` },
      });
      const body = (await res.json()) as { searches: number };
      if (body.searches >= stats.pageViews.search!) break;
      await new Promise((r) => setTimeout(r, 300));
    }

    // 3. The page in Chromium: log in, every chart drawn from data.
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('response', (r) => {
      // The browser's own favicon request is no part of the page.
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico'))
        problems.push(`${r.status()} ${r.url()}`);
    });
    await page.setViewportSize({ width: 1400, height: 1000 });
    await page.goto(`${pipeline.etl.url}/analytics/?range=1`);
    expect(page.url()).toContain('/analytics/login?next=');
    await page.fill('input[name=email]', 'analyst@test');
    await page.fill('input[name=password]', 'pw');
    await page.click('form.login button');
    await page.waitForSelector('body[data-charts-drawn]');
    const charts = (await page.evaluate(() =>
      Array.from(document.querySelectorAll('.chart')).map((el: typeof document) => {
        const canvas = el.querySelector('canvas');
        const ctx = canvas.getContext('2d');
        const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
        let inked = 0;
        for (let i = 0; i < data.length; i += 4)
          if (data[i + 3] > 0 && (data[i] < 230 || data[i + 1] < 230 || data[i + 2] < 230)) inked++;
        return {
          id: el.id,
          points: Number(el.getAttribute('data-points')),
          inked: inked / (canvas.width * canvas.height),
          rows: el.parentElement.querySelectorAll('.numbers tbody tr').length,
        };
      }),
    )) as Array<{ id: string; points: number; inked: number; rows: number }>;
    expect(charts.map((c) => c.id)).toEqual([
      'heatmap',
      'quality',
      'fullviews',
      'pageviews',
      'searches',
      'active',
    ]);
    for (const c of charts) {
      expect([c.id, c.points > 0, c.rows > 0]).toEqual([c.id, true, true]);
      // Drawn: more than axes and labels on the canvas.
      expect([c.id, c.inked > 0.01]).toEqual([c.id, true]);
    }
    expect(await page.locator('.empty').count()).toBe(0);
    expect(problems).toEqual([]);
    const file = path.join(shots, `analytics-${pipeline.suffix}.png`);
    const png = await page.screenshot({ path: file, fullPage: true });
    // A full-page PNG of six drawn charts and their tables: large, and not one flat colour.
    expect(png.length).toBeGreaterThan(100_000);
    expect(png.subarray(1, 4).toString()).toBe('PNG');

    // The film picker narrows the film charts to one film.
    const film = (await page.locator('select[name=film] option').nth(1).getAttribute('value'))!;
    await page.selectOption('select[name=film]', film);
    await page.click('form.pickers button');
    await page.waitForSelector('body[data-charts-drawn]');
    expect(await page.textContent('.range')).toContain(`film ${film.slice(0, 8)}`);
    await page.close();
  });
});
