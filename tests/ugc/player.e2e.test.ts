/**
 * The UGC pipeline end to end in a real browser: Debian's headless chromium opens the player
 * served by ugc-collector, plays, pauses, switches quality and reaches the end; the events go
 * through the collector to Kafka, ugc-etl loads them into ClickHouse, and its read API shows
 * exactly those rows for the signed-in viewer.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { createClickHouse } from '@cinema/clickhouse';
import { Lifecycle } from '@cinema/http';
import { createLogger } from '@cinema/logging';
import { deleteTopicsWithPrefix, startTestIssuer, type TestIssuer } from '@cinema/testing';
import { buildApp as buildCollector } from '../../services/ugc-collector/src/app';
import { readConfig as collectorConfig } from '../../services/ugc-collector/src/config';
import { wire as wireCollector } from '../../services/ugc-collector/src/wiring';
import { buildApp as buildEtl } from '../../services/ugc-etl/src/app';
import { readConfig as etlConfig } from '../../services/ugc-etl/src/config';
import {
  wire as wireEtl,
  type Dependencies as EtlDependencies,
} from '../../services/ugc-etl/src/wiring';
import { launchChromium } from './chromium';

jest.setTimeout(180_000);

/* Browser globals used inside page functions (this project's TypeScript has no DOM typings). */
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const localStorage: any;
declare const ugcPlayer: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const suffix = randomUUID().slice(0, 8);
const prefix = `e2e-${suffix}.`;
const database = `ugc_e2e_${suffix}`;
const logger = createLogger({ service: 'ugc-e2e', level: 'silent' });
const chdbPath = path.join(os.tmpdir(), `cinema-ugc-chdb-${process.pid}-${suffix}`);

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
  let server: Server;
  let etl: EtlDependencies;
  // Each service is built by its own wiring from its own config, as its main.ts does; one
  // lifecycle per service closes its adapters (drain first) when the test ends.
  const collectorLife = new Lifecycle(logger);
  const etlLife = new Lifecycle(logger);
  let browser: Awaited<ReturnType<typeof launchChromium>>;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    const common = {
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: '1',
      KAFKA_TOPIC_REPLICATION: '1',
      AUTH_JWKS_URL: issuer.jwksUrl,
      JWT_ISSUER: issuer.issuer,
      JWT_AUDIENCE: issuer.audience,
    };
    const collector = buildCollector(
      await wireCollector({
        config: collectorConfig({ ...common, KAFKA_CLIENT_ID: 'ugc-e2e', BODY_LIMIT: '1mb' }),
        logger,
        lifecycle: collectorLife,
      }),
    );
    server = await new Promise<Server>((resolve) => {
      const s = collector.listen(0, '127.0.0.1', () => resolve(s));
    });
    etl = await wireEtl({
      config: etlConfig({
        ...common,
        KAFKA_CLIENT_ID: 'ugc-e2e-etl',
        KAFKA_GROUP_ID: `ugc-e2e-${suffix}`,
        CLICKHOUSE_URL: process.env.CLICKHOUSE_URL,
        CHDB_PATH: chdbPath,
        CLICKHOUSE_DATABASE: database,
        BATCH_MAX_ROWS: '1000',
        BATCH_MAX_WAIT_MS: '100',
      }),
      logger,
      lifecycle: etlLife,
    });
    await etl.loader.start();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
    await collectorLife.shutdown('test done');
    await etlLife.shutdown('test done');
    // The test's own ClickHouse database: a server's is dropped, an embedded one's folder removed.
    if (process.env.CLICKHOUSE_URL) {
      const ch = createClickHouse({ url: process.env.CLICKHOUSE_URL });
      await ch.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      await ch.close();
    } else fs.rmSync(chdbPath, { recursive: true, force: true });
    await issuer?.close();
    await deleteTopicsWithPrefix(prefix);
  });

  it('plays, pauses, switches quality, ends; the read API shows exactly those events', async () => {
    const userId = randomUUID();
    const film = randomUUID();
    const token = await issuer.token(userId);
    const { port } = server.address() as AddressInfo;
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.addInitScript((t) => localStorage.setItem('cinema.access_token', t), token);
    await page.goto(`http://127.0.0.1:${port}/player/?film=${film}`);
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

    const etlApp = buildEtl(etl);
    const analyst = await issuer.token(randomUUID(), ['admin']);
    const api = (p: string) =>
      request(etlApp)
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
