/**
 * The UGC pipeline end to end in a real browser: Debian's headless chromium opens the player
 * served by ugc-collector, plays, pauses, switches quality and reaches the end; the events go
 * through the collector to Kafka, ugc-etl loads them into ClickHouse, and its read API shows
 * exactly those rows for the signed-in viewer.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import {
  launchChromium,
  startTestIssuer,
  type HeadlessChromium,
  type TestIssuer,
} from '@cinema/testing';
import { issuerEnv, startPipeline, type Pipeline } from './pipeline';

jest.setTimeout(180_000);

/* Browser globals used inside page functions (this project's TypeScript has no DOM typings). */
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const localStorage: any;
declare const ugcPlayer: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

interface Tracked {
  type: string;
  event_id: string;
  film_id: string;
  client_time: string;
  position_sec?: number;
  duration_sec?: number;
  from_quality?: string;
  to_quality?: string;
}

describe('player -> collector -> Kafka -> ETL -> ClickHouse', () => {
  let issuer: TestIssuer;
  let pipeline: Pipeline;
  let browser: HeadlessChromium;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    pipeline = await startPipeline({
      name: 'ugc-e2e',
      tag: 'ugc',
      auth: issuerEnv(issuer),
      collectorEnv: { BODY_LIMIT: '1mb' },
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await pipeline?.close();
    await issuer?.close();
  });

  it('plays, pauses, switches quality, ends; the read API shows exactly those events', async () => {
    const userId = randomUUID();
    const film = randomUUID();
    const token = await issuer.token(userId);
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.addInitScript((t) => localStorage.setItem('cinema.access_token', t), token);
    await page.goto(`${pipeline.collector.url}/player/?film=${film}`);
    await page.waitForFunction(() => {
      const v = document.querySelector('video');
      return v.readyState >= 1 && v.duration > 9;
    });
    expect(await page.textContent('#time')).toMatch(/0:00 \/ 0:10/);

    // Play for a moment, pause.
    await page.click('#play');
    await page.waitForFunction(() => document.querySelector('video').currentTime > 1);
    await page.click('#play');
    await page.waitForFunction(() => document.querySelector('video').paused);
    // The seek bar shows the buffered range ahead of the played one.
    const widths = (await page.evaluate(() => ({
      played: parseFloat(document.getElementById('played').style.width),
      buffered: parseFloat(document.getElementById('buffered').style.width),
    }))) as { played: number; buffered: number };
    expect(widths.played).toBeGreaterThan(0);
    expect(widths.buffered).toBeGreaterThanOrEqual(widths.played);

    // Switch to 720p: same position, the other rendition.
    await page.selectOption('#quality', '720p');
    await page.waitForFunction(() =>
      document.querySelector('video').currentSrc.endsWith('clip-720p.webm'),
    );
    // Seek near the end through the seek bar, play to the end.
    const box = (await page.locator('#track').boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.85, box.y + box.height / 2);
    await page.click('#play');
    await page.waitForFunction(() => document.querySelector('video').ended, undefined, {
      timeout: 20_000,
    });
    // Everything flushed and acknowledged (202) by the collector.
    await page.waitForFunction(
      () => {
        void ugcPlayer.flush();
        return ugcPlayer.outbox().length === 0 && ugcPlayer.sent().length === 3;
      },
      undefined,
      { timeout: 15_000, polling: 250 },
    );
    const tracked = (await page.evaluate(() => ugcPlayer.tracked())) as Tracked[];
    expect(tracked.map((e) => e.type)).toEqual(['pause', 'quality_change', 'full_view']);
    expect(problems).toEqual([]);
    await page.close();

    const [pause, quality, full] = tracked as [Tracked, Tracked, Tracked];
    expect(quality).toMatchObject({ from_quality: '360p', to_quality: '720p' });
    expect(Math.abs(quality.position_sec! - pause.position_sec!)).toBeLessThan(0.1);

    const analyst = await issuer.token(randomUUID(), ['admin']);
    const api = (p: string) =>
      request(pipeline.etl.app)
        .get(`/api/v1/analytics/films/${film}/${p}`)
        .set('Authorization', `Bearer ${analyst}`)
        .expect(200);

    let events = (await api(`events?user_id=${userId}`)).body;
    for (let i = 0; i < 100 && events.full_views.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      events = (await api(`events?user_id=${userId}`)).body;
    }
    const stored = (e: Tracked) => ({
      event_id: e.event_id,
      user_id: userId,
      event_time: e.client_time,
    });
    expect(events).toEqual({
      film_id: film,
      pauses: [
        { ...stored(pause), position_sec: pause.position_sec, received_time: expect.any(String) },
      ],
      quality_changes: [
        {
          ...stored(quality),
          from_quality: '360p',
          to_quality: '720p',
          position_sec: quality.position_sec,
          received_time: expect.any(String),
        },
      ],
      full_views: [
        { ...stored(full), duration_sec: full.duration_sec, received_time: expect.any(String) },
      ],
    });
    expect(full.duration_sec).toBeGreaterThan(9);

    expect((await api('pause-heatmap')).body).toEqual({
      film_id: film,
      minutes: [{ minute: 0, pauses: 1 }],
      total: 1,
    });
    expect((await api('quality-switches')).body).toMatchObject({ up: 1, down: 0 });
    expect((await api('full-view-rate')).body).toMatchObject({
      viewers: 1,
      full_viewers: 1,
      rate: 1,
    });
  });
});
