/**
 * The ETL against the stack's Kafka and ClickHouse (embedded chDB unless CLICKHOUSE_URL): schema
 * at start, each topic into its table, duplicates collapsed, unparseable messages to the
 * dead-letter topic without stopping the stream, offsets committed after the insert, and the
 * analysts' read API over the result.
 */
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Express } from 'express';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import request from 'supertest';
import { createTokenVerifier } from '@cinema/auth';
import { createLogger } from '@cinema/logging';
import {
  deleteTopicsWithPrefix,
  startTestIssuer,
  suffix,
  waitFor,
  type TestIssuer,
} from '@cinema/testing';
import { buildApp } from '../src/app';
import { wireLoader, type Loader } from '../src/wiring';

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const run = suffix();
const prefix = `test-${run}.`;
const database = `ugc_etl_test_${run}`;
const groupId = `ugc-etl-test-${run}`;
const logger = createLogger({ service: 'ugc-etl-test', level: 'silent' });
// chDB: one on-disk path per process; test files of this jest process share it.
const chdbPath = path.join(os.tmpdir(), `cinema-ugc-chdb-${process.pid}`);

const film = randomUUID();
const user = randomUUID();
const t = (s: number) => new Date(Date.UTC(2025, 0, 2, 3, 4, s)).toISOString();

describe('ugc-etl: Kafka to ClickHouse', () => {
  let pipeline: Loader;
  let producer: Producer;
  let issuer: TestIssuer;
  let app: Express;
  let admin: string;
  const kafka = new Kafka({ clientId: 'etl-test', brokers, logLevel: logLevel.NOTHING });

  beforeAll(async () => {
    issuer = await startTestIssuer();
    pipeline = await wireLoader(
      {
        KAFKA_BROKERS: brokers,
        KAFKA_CLIENT_ID: 'ugc-etl-test',
        KAFKA_GROUP_ID: groupId,
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_TOPIC_PARTITIONS: 2,
        KAFKA_TOPIC_REPLICATION: 1,
        CLICKHOUSE_URL: process.env.CLICKHOUSE_URL,
        CHDB_PATH: chdbPath,
        CLICKHOUSE_DATABASE: database,
        BATCH_MAX_ROWS: 1000,
        BATCH_MAX_WAIT_MS: 100,
      },
      logger,
    );
    await pipeline.start();
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    app = buildApp({
      config: { CORS_ORIGINS: [], BODY_LIMIT: '100kb' },
      logger,
      analytics: pipeline.analytics,
      charts: pipeline.charts,
      verifier: createTokenVerifier({
        jwksUrl: issuer.jwksUrl,
        issuer: issuer.issuer,
        audience: issuer.audience,
      }),
      loader: pipeline,
      readiness: { kafka: () => pipeline.consumer.check() },
    });
    admin = await issuer.token(randomUUID(), ['admin']);
  });

  afterAll(async () => {
    await producer?.disconnect();
    await pipeline?.ch.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await pipeline?.stop();
    await issuer?.close();
    await deleteTopicsWithPrefix(prefix);
  });

  const get = (p: string) =>
    request(app)
      .get(`/api/v1/analytics/films/${film}/${p}`)
      .set('Authorization', `Bearer ${admin}`);

  it('creates the database and the ten tables, ReplacingMergeTree by month', async () => {
    const tables = await (
      await pipeline.ch.query({
        query: `SELECT name, engine, partition_key, sorting_key FROM system.tables
                WHERE database = {db:String} ORDER BY name`,
        query_params: { db: database },
        format: 'JSONEachRow',
      })
    ).json<{ name: string; engine: string; partition_key: string; sorting_key: string }>();
    // The event tables (the analytics rollups and their views beside them: rollups.ts).
    const events = tables.filter((x) => !/^(r|mv)_/.test(x.name));
    expect(events.map((x) => x.name)).toEqual(
      [
        'clicks_on_video_full_views',
        'clicks_on_video_pauses',
        'get_film_by_id_page_views',
        'get_films_page_views',
        'get_genre_by_id_page_views',
        'get_genres_page_views',
        'get_person_by_id_page_views',
        'search_films_by_keyword_page_views',
        'search_persons_by_keyword_page_views',
        'video_quality_change_clicks',
      ].sort(),
    );
    for (const x of events) {
      expect(x.engine).toBe('ReplacingMergeTree');
      expect(x.partition_key).toBe('toYYYYMM(event_time)');
      expect(x.sorting_key).toMatch(/event_id$/);
    }
  });

  it('loads every topic into its table once, dead-letters garbage, and commits after', async () => {
    const pauses = [30, 75, 80, 200].map((pos, i) => ({
      event_id: randomUUID(),
      user_id: user,
      film_id: film,
      position_sec: pos,
      client_time: t(i),
      received_time: t(i + 1),
    }));
    const quality = [
      ['360p', '720p'],
      ['720p', '360p'],
      ['360p', '720p'],
    ].map(([from, to], i) => ({
      event_id: randomUUID(),
      user_id: i === 0 ? 'anon:viewer-0001' : user,
      film_id: film,
      from_quality: from,
      to_quality: to,
      position_sec: 10 * i,
      client_time: t(10 + i),
      received_time: t(11 + i),
    }));
    const fullView = {
      event_id: randomUUID(),
      user_id: user,
      film_id: film,
      duration_sec: 5400,
      client_time: t(30),
      received_time: t(31),
    };
    const pageView = {
      event_id: randomUUID(),
      user_id: user,
      endpoint: '/api/v1/films/{film_id}',
      params: { film_id: film },
      status_code: 200,
      event_time: t(40),
    };
    const send = (topic: string, values: unknown[]) =>
      producer.send({
        topic: `${prefix}${topic}`,
        acks: -1,
        messages: values.map((v) => ({
          key: user,
          value: typeof v === 'string' ? v : JSON.stringify(v),
        })),
      });
    // Duplicates (the same event delivered twice) and two unparseable values in the stream.
    await send('tracking.clicks_on_video.pauses', [
      ...pauses.slice(0, 2),
      '{not json',
      pauses[0],
      ...pauses.slice(2),
    ]);
    await send('tracking.clicks_on_video.quality_changes', [...quality, quality[1]]);
    await send('tracking.clicks_on_video.full_views', [
      fullView,
      { ...fullView, event_id: 'nope' },
    ]);
    await send('tracking.page_views.get_film_by_id', [pageView, pageView]);

    const events = await waitFor(
      async () => {
        const b = (await get('events').expect(200)).body;
        return b.pauses.length === 4 && b.quality_changes.length === 3 && b.full_views.length === 1
          ? b
          : undefined;
      },
      20_000,
      'every event loaded',
    );
    expect(events.pauses).toEqual(
      pauses.map((p) => ({
        event_id: p.event_id,
        user_id: user,
        position_sec: p.position_sec,
        event_time: p.client_time,
        received_time: p.received_time,
      })),
    );
    expect(events.quality_changes.map((q: { event_id: string }) => q.event_id)).toEqual(
      quality.map((q) => q.event_id),
    );
    expect(events.full_views).toEqual([
      expect.objectContaining({ event_id: fullView.event_id, duration_sec: 5400 }),
    ]);
    const own = await request(app)
      .get(`/api/v1/analytics/films/${film}/events?user_id=anon:viewer-0001`)
      .set('Authorization', `Bearer ${admin}`)
      .expect(200);
    expect(own.body.quality_changes).toHaveLength(1);
    expect(own.body.pauses).toHaveLength(0);

    // Page views are a topic of their own: their batch may land after the three waited for above.
    const pv = await waitFor(
      async () => {
        const rows = await (
          await pipeline.ch.query({
            query: `SELECT toString(event_id) AS event_id, film_id, params, status_code
                    FROM ${database}.get_film_by_id_page_views FINAL`,
            format: 'JSONEachRow',
          })
        ).json();
        return rows.length ? rows : undefined;
      },
      20_000,
      'the page view loaded',
    );
    expect(pv).toEqual([
      { event_id: pageView.event_id, film_id: film, params: { film_id: film }, status_code: 200 },
    ]);

    // Dead letters: both bad values, with the reason and where they came from.
    const dead: Array<Record<string, unknown>> = [];
    const reader = kafka.consumer({ groupId: `dlq-reader-${run}` });
    await reader.connect();
    await reader.subscribe({ topic: `${prefix}tracking.dead_letter`, fromBeginning: true });
    await new Promise<void>((resolve) => {
      void reader.run({
        eachMessage: async ({ message }) => {
          dead.push(JSON.parse(message.value!.toString()));
          if (dead.length >= 2) resolve();
        },
      });
    });
    await reader.disconnect();
    expect(dead.map((d) => [d.topic, d.value]).sort()).toEqual(
      [
        [`${prefix}tracking.clicks_on_video.pauses`, '{not json'],
        [
          `${prefix}tracking.clicks_on_video.full_views`,
          JSON.stringify({ ...fullView, event_id: 'nope' }),
        ],
      ].sort(),
    );
    expect(dead.map((d) => d.reason).sort()).toEqual([
      'event_id: Invalid uuid',
      'value is not JSON',
    ]);

    // Offsets: committed up to the end of each partition once the rows are stored.
    const kadmin = kafka.admin();
    await kadmin.connect();
    const sum = (o: Array<{ partitions: Array<{ offset: string }> }>) =>
      o[0]!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    try {
      const committed = await waitFor(
        async () => {
          const o = await kadmin.fetchOffsets({
            groupId,
            topics: [`${prefix}tracking.clicks_on_video.pauses`],
          });
          return sum(o) === 6 ? o : undefined;
        },
        20_000,
        'offsets committed',
      );
      expect(sum(committed)).toBe(6);
    } finally {
      await kadmin.disconnect();
    }

    // The analysts' figures.
    const heat = await get('pause-heatmap').expect(200);
    expect(heat.body).toEqual({
      film_id: film,
      minutes: [
        { minute: 0, pauses: 1 },
        { minute: 1, pauses: 2 },
        { minute: 3, pauses: 1 },
      ],
      total: 4,
    });
    const sw = await get('quality-switches').expect(200);
    expect(sw.body).toMatchObject({ up: 2, down: 1 });
    const rate = await get('full-view-rate').expect(200);
    expect(rate.body).toEqual({
      film_id: film,
      viewers: 2,
      full_viewers: 1,
      full_views: 1,
      rate: 0.5,
    });
  });

  it('guards the read API: 401 without token, 403 for viewers, 422 for a bad film id', async () => {
    const none = await request(app).get(`/api/v1/analytics/films/${film}/pause-heatmap`);
    expect(none.status).toBe(401);
    expect(none.type).toBe('application/problem+json');
    const viewer = await issuer.token(randomUUID(), ['public_user']);
    await request(app)
      .get(`/api/v1/analytics/films/${film}/pause-heatmap`)
      .set('Authorization', `Bearer ${viewer}`)
      .expect(403);
    const bad = await request(app)
      .get('/api/v1/analytics/films/not-a-film/pause-heatmap')
      .set('Authorization', `Bearer ${admin}`);
    expect(bad.status).toBe(422);
    expect(bad.type).toBe('application/problem+json');
    const badLimit = await get('events?limit=0');
    expect(badLimit.status).toBe(422);
    await request(app).get('/readyz').expect(200);
    const spec = await request(app).get('/openapi.json').expect(200);
    // The per-film read API and the analytics page's seven chart endpoints.
    expect(Object.keys(spec.body.paths)).toHaveLength(11);
  });
});

describe('ugc-etl: a consumer behind its partition', () => {
  const lagSuffix = suffix();
  const lagPrefix = `test-${lagSuffix}.`;
  const lagDatabase = `ugc_etl_lag_${lagSuffix}`;
  const topic = `${lagPrefix}tracking.clicks_on_video.pauses`;
  const backlog = 1500;
  let lagging: Loader;

  afterAll(async () => {
    await lagging?.ch.command({ query: `DROP DATABASE IF EXISTS ${lagDatabase}` });
    await lagging?.stop();
    await deleteTopicsWithPrefix(lagPrefix);
  });

  it('inserts fetches cut short by the fetch size at once instead of waiting for the batch timer', async () => {
    const kafka = new Kafka({ clientId: 'etl-lag-test', brokers, logLevel: logLevel.NOTHING });
    const kadmin = kafka.admin();
    await kadmin.connect();
    await kadmin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await kadmin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const lagFilm = randomUUID();
    // Sent 10 at a time: Kafka hands out whole record batches, so these small ones let the 4 KiB
    // fetches below stop short of the partition's end.
    for (let sent = 0; sent < backlog; sent += 10) {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 10 }, (_, k) => ({
          key: user,
          value: JSON.stringify({
            event_id: randomUUID(),
            user_id: user,
            film_id: lagFilm,
            position_sec: sent + k,
            client_time: t(k),
            received_time: t(k),
          }),
        })),
      });
    }
    await producer.disconnect();

    // A 60 s batch timer and 4 KiB fetches (one or two of those record batches each): if every
    // fetch waited for the timer, 30 s would see no row. (Each of the ~100 small inserts also
    // feeds the analytics rollups' materialized views: 45-80 ms each on the loaded test machine.)
    lagging = await wireLoader(
      {
        KAFKA_BROKERS: brokers,
        KAFKA_CLIENT_ID: 'ugc-etl-lag-test',
        KAFKA_GROUP_ID: `ugc-etl-lag-${lagSuffix}`,
        KAFKA_TOPIC_PREFIX: lagPrefix,
        KAFKA_TOPIC_PARTITIONS: 1,
        KAFKA_TOPIC_REPLICATION: 1,
        KAFKA_FETCH_MAX_BYTES_PER_PARTITION: 4096,
        CLICKHOUSE_URL: process.env.CLICKHOUSE_URL,
        CHDB_PATH: chdbPath,
        CLICKHOUSE_DATABASE: lagDatabase,
        BATCH_MAX_ROWS: 100_000,
        BATCH_MAX_WAIT_MS: 60_000,
      },
      logger,
    );
    const started = Date.now();
    await lagging.start();
    const count = async () => {
      const rs = await lagging.ch.query({
        query: `SELECT count() AS n FROM ${lagDatabase}.clicks_on_video_pauses`,
        format: 'JSONEachRow',
      });
      return Number(((await rs.json()) as Array<{ n: string }>)[0].n);
    };
    const loaded = await waitFor(
      async () => {
        const n = await count();
        return n >= backlog - 50 ? n : undefined;
      },
      30_000,
      'the backlog loaded',
    );
    expect(Date.now() - started).toBeLessThan(30_000);
    // Everything but the last fetch (the one that reached the end of the partition: it waits for
    // the timer, as a trickle should) is in.
    expect(loaded).toBeGreaterThanOrEqual(backlog - 50);
    expect(lagging.sink.stats.inserts).toBeGreaterThan(10);
  });
});
