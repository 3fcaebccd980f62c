/**
 * The analytics charts on real ClickHouse (embedded chDB unless CLICKHOUSE_URL): known events go
 * into the event tables through the ETL's own parsers, half of them before the rollups exist
 * (back-filled at start), half after (their materialized views); every chart endpoint answers
 * exactly the numbers worked out by hand below. Also: the guards (401/403/422), and the page
 * (login through a fake auth login API, CSRF, escaping).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Express } from 'express';
import request from 'supertest';
import { createAuthClient, createTokenVerifier } from '@cinema/auth';
import { createClickHouse } from '@cinema/clickhouse';
import { createLogger } from '@cinema/logging';
import { startTestIssuer, suffix, type TestIssuer } from '@cinema/testing';
import { buildApp } from '../src/app';
import { schemaStatements, TABLES } from '../src/domain/tables';
import { wireLoader, type Loader } from '../src/wiring';

const run = suffix();
const database = `ugc_etl_charts_${run}`;
const logger = createLogger({ service: 'ugc-etl-test', level: 'silent' });
// chDB: one on-disk path per process; test files of this jest process share it.
const chdbPath = path.join(os.tmpdir(), `cinema-ugc-chdb-${process.pid}`);

// Films sorted A < B < C (ties in rankings are broken by id).
const A = '0a000000-0000-4000-8000-000000000001';
const B = '0b000000-0000-4000-8000-000000000002';
const C = '0c000000-0000-4000-8000-000000000003';
const at = (hhmmss: string) => `2026-03-10T${hhmmss}Z`;
const FROM = at('10:00:00');
const TO = at('12:00:00');
const range = `from=${encodeURIComponent(FROM)}&to=${encodeURIComponent(TO)}`;

type Value = Record<string, unknown>;
const click = (user: string, film: string, time: string, extra: Value): Value => ({
  event_id: randomUUID(),
  user_id: user,
  film_id: film,
  client_time: time,
  received_time: time,
  ...extra,
});
const pause = (user: string, film: string, time: string, position: number) =>
  ['clicks_on_video_pauses', click(user, film, time, { position_sec: position })] as const;
const quality = (user: string, film: string, time: string, from: string, to: string) =>
  [
    'video_quality_change_clicks',
    click(user, film, time, { from_quality: from, to_quality: to, position_sec: 12 }),
  ] as const;
const full = (user: string, film: string, time: string) =>
  ['clicks_on_video_full_views', click(user, film, time, { duration_sec: 600 })] as const;
const view = (
  table: string,
  endpoint: string,
  time: string,
  status: number,
  params: Record<string, string> = {},
  results?: number,
) =>
  [
    table,
    {
      event_id: randomUUID(),
      user_id: 'u-browser',
      endpoint,
      params,
      status_code: status,
      event_time: time,
      ...(results !== undefined && { result_count: results }),
    },
  ] as const;
const films = (time: string, status: number) =>
  view('get_films_page_views', '/api/v1/films', time, status, {}, 999);
const search = (time: string, query: string, status: number, results?: number) =>
  view(
    'search_films_by_keyword_page_views',
    '/api/v1/films/search',
    time,
    status,
    { query },
    results,
  );

// Stored before the rollups exist (the back-fill at start counts them).
const BEFORE = [
  pause('u1', A, at('10:05:01'), 30),
  pause('u1', A, at('10:05:10'), 90),
  pause('u3', A, at('10:05:30'), 200),
  quality('u1', A, at('10:05:40'), '720p', '360p'),
  quality('u4', B, at('10:05:59'), '360p', '1080p'),
  pause('u9', A, at('09:59:59.999'), 10), // before the range
  films(at('10:01:00'), 200),
  films(at('10:01:30'), 200),
  search(at('10:10:00'), 'Star', 200, 3),
  search(at('09:00:00'), 'early', 200, 0), // before the range
];
// Stored after (the materialized views count them).
const AFTER = [
  pause('u1', A, at('10:06:00'), 95),
  pause('u1', B, at('10:06:10'), 10),
  pause('u2', A, at('10:20:00'), 61),
  quality('u2', A, at('10:20:30'), '720p', '360p'),
  quality('u1', A, at('10:30:00'), '360p', '720p'),
  full('u1', A, at('10:50:00')),
  full('u2', A, at('11:30:00')),
  full('u4', B, at('11:40:00')),
  pause('u5', C, at('11:50:00'), 300),
  pause('u9', A, at('12:00:00'), 10), // the end is excluded
  films(at('10:02:00'), 500),
  search(at('10:11:00'), 'star ', 200, 5),
  search(at('10:12:00'), 'zzqx', 200, 0),
  search(at('11:00:00'), 'zzqx', 200, 0),
  search(at('10:13:00'), 'bad', 422),
  view(
    'search_persons_by_keyword_page_views',
    '/api/v1/persons/search',
    at('10:14:00'),
    200,
    {
      query: 'Nolan',
    },
    0,
  ),
  view('get_film_by_id_page_views', '/api/v1/films/{film_id}', at('10:15:00'), 404, {
    film_id: A,
  }),
  search(at('10:16:00'), '<img src=x onerror=alert(1)>', 200, 0),
];

async function store(ch: Loader['ch'], events: ReadonlyArray<readonly [string, Value]>) {
  const byTable = new Map<string, Value[]>();
  for (const [table, value] of events) {
    const spec = TABLES.find((t) => t.table === table)!;
    byTable.set(table, [...(byTable.get(table) ?? []), spec.parse(value)]);
  }
  for (const [table, values] of byTable)
    await ch.insert({ table: `${database}.${table}`, values, format: 'JSONEachRow' });
}

let pipeline: Loader;
let issuer: TestIssuer;
let app: Express;
let auth: Server;
let analyst: string;

beforeAll(async () => {
  issuer = await startTestIssuer();
  // The event tables only (as an older version of the service made them), with events in them.
  const bare = createClickHouse({
    url: process.env.CLICKHOUSE_URL,
    path: chdbPath,
    client: { clickhouse_settings: { date_time_input_format: 'best_effort' } },
  });
  try {
    for (const query of schemaStatements(database)) await bare.command({ query });
    await store(bare, BEFORE);
  } finally {
    await bare.close();
  }
  // The service's start: its schema step adds the rollups and back-fills them.
  pipeline = await wireLoader(
    {
      KAFKA_BROKERS: (process.env.KAFKA_BROKERS || '127.0.0.1:9').split(','),
      KAFKA_CLIENT_ID: 'ugc-etl-charts',
      KAFKA_GROUP_ID: `ugc-etl-charts-${run}`,
      KAFKA_TOPIC_PREFIX: `test-charts-${run}.`,
      KAFKA_TOPIC_PARTITIONS: 1,
      KAFKA_TOPIC_REPLICATION: 1,
      CLICKHOUSE_URL: process.env.CLICKHOUSE_URL,
      CHDB_PATH: chdbPath,
      CLICKHOUSE_DATABASE: database,
      BATCH_MAX_ROWS: 1000,
      BATCH_MAX_WAIT_MS: 100,
    },
    logger,
  );
  await store(pipeline.ch, AFTER);

  // auth's login API: analyst@test / pw gets an admin token, viewer@test a public_user one.
  auth = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}') as { email?: string; password?: string };
      const roles =
        body.password !== 'pw'
          ? undefined
          : body.email === 'analyst@test'
            ? ['admin']
            : body.email === 'viewer@test'
              ? ['public_user']
              : undefined;
      if (req.url !== '/api/v1/auth/login' || !roles) {
        res.writeHead(401, { 'content-type': 'application/json' });
        return res.end('{}');
      }
      void issuer.token(randomUUID(), roles).then((accessToken) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ accessToken, tokenType: 'Bearer', expiresIn: 900 }));
      });
    });
  });
  await new Promise<void>((r) => auth.listen(0, '127.0.0.1', () => r()));
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
    page: {
      auth: createAuthClient(`http://127.0.0.1:${(auth.address() as AddressInfo).port}`),
      secureCookies: false,
    },
    loader: pipeline,
    readiness: {},
  });
  analyst = await issuer.token(randomUUID(), ['super_user']);
}, 120_000);

afterAll(async () => {
  await pipeline?.ch.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await pipeline?.stop();
  await new Promise((r) => auth?.close(r));
  await issuer?.close();
});

const get = async (p: string) => {
  const res = await request(app).get(p).set('authorization', `Bearer ${analyst}`);
  expect([p, res.status]).toEqual([p, 200]);
  return res.body as Record<string, unknown>;
};

describe('chart endpoints on known events', () => {
  it('pause heat map: films with the most pauses, pauses per minute of the film', async () => {
    expect(await get(`/api/v1/analytics/charts/pause-heatmap?${range}`)).toEqual({
      from: '2026-03-10T10:00:00.000Z',
      to: '2026-03-10T12:00:00.000Z',
      films: [
        { film_id: A, pauses: 5 },
        { film_id: B, pauses: 1 },
        { film_id: C, pauses: 1 },
      ],
      cells: [
        { film_id: A, minute: 0, pauses: 1 },
        { film_id: A, minute: 1, pauses: 3 },
        { film_id: A, minute: 3, pauses: 1 },
        { film_id: B, minute: 0, pauses: 1 },
        { film_id: C, minute: 5, pauses: 1 },
      ],
    });
    const one = await get(`/api/v1/analytics/charts/pause-heatmap?${range}&films=1`);
    expect(one.films).toEqual([{ film_id: A, pauses: 5 }]);
    const b = await get(
      `/api/v1/analytics/charts/pause-heatmap?${range}&film_id=${B.toUpperCase()}`,
    );
    expect(b.films).toEqual([{ film_id: B, pauses: 1 }]);
    expect(b.cells).toEqual([{ film_id: B, minute: 0, pauses: 1 }]);
  });

  it('quality switches: up and down per minute and per pair, all films and one', async () => {
    expect(await get(`/api/v1/analytics/charts/quality-switches?${range}`)).toEqual({
      from: '2026-03-10T10:00:00.000Z',
      to: '2026-03-10T12:00:00.000Z',
      bucket_seconds: 60,
      up: 2,
      down: 2,
      series: [
        { t: '2026-03-10T10:05:00Z', up: 1, down: 1 },
        { t: '2026-03-10T10:20:00Z', up: 0, down: 1 },
        { t: '2026-03-10T10:30:00Z', up: 1, down: 0 },
      ],
      pairs: [
        { from_quality: '720p', to_quality: '360p', direction: 'down', count: 2 },
        { from_quality: '360p', to_quality: '1080p', direction: 'up', count: 1 },
        { from_quality: '360p', to_quality: '720p', direction: 'up', count: 1 },
      ],
    });
    const a = await get(`/api/v1/analytics/charts/quality-switches?${range}&film_id=${A}`);
    expect([a.film_id, a.up, a.down]).toEqual([A, 1, 2]);
  });

  it('full-view rate: distinct viewers who finished over distinct viewers, best and worst', async () => {
    const rate = await get(`/api/v1/analytics/charts/full-view-rate?${range}`);
    const a = { film_id: A, viewers: 3, full_viewers: 2, rate: 2 / 3 };
    const b = { film_id: B, viewers: 2, full_viewers: 1, rate: 0.5 };
    const c = { film_id: C, viewers: 1, full_viewers: 0, rate: 0 };
    expect(rate.top).toEqual([a, b, c]);
    expect(rate.bottom).toEqual([c, b, a]);
    const ranked = await get(
      `/api/v1/analytics/charts/full-view-rate?${range}&min_viewers=2&limit=1`,
    );
    expect([ranked.top, ranked.bottom]).toEqual([[a], [b]]);
  });

  it('page views per endpoint over time, with 4xx and 5xx', async () => {
    const pv = await get(`/api/v1/analytics/charts/page-views?${range}`);
    expect(pv.endpoints).toEqual([
      { endpoint: '/api/v1/films/search', views: 6, client_errors: 1, server_errors: 0 },
      { endpoint: '/api/v1/films', views: 3, client_errors: 0, server_errors: 1 },
      { endpoint: '/api/v1/films/{film_id}', views: 1, client_errors: 1, server_errors: 0 },
      { endpoint: '/api/v1/persons/search', views: 1, client_errors: 0, server_errors: 0 },
    ]);
    expect(pv.series).toEqual([
      { t: '2026-03-10T10:01:00Z', endpoint: '/api/v1/films', views: 2 },
      { t: '2026-03-10T10:02:00Z', endpoint: '/api/v1/films', views: 1 },
      { t: '2026-03-10T10:10:00Z', endpoint: '/api/v1/films/search', views: 1 },
      { t: '2026-03-10T10:11:00Z', endpoint: '/api/v1/films/search', views: 1 },
      { t: '2026-03-10T10:12:00Z', endpoint: '/api/v1/films/search', views: 1 },
      { t: '2026-03-10T10:13:00Z', endpoint: '/api/v1/films/search', views: 1 },
      { t: '2026-03-10T10:14:00Z', endpoint: '/api/v1/persons/search', views: 1 },
      { t: '2026-03-10T10:15:00Z', endpoint: '/api/v1/films/{film_id}', views: 1 },
      { t: '2026-03-10T10:16:00Z', endpoint: '/api/v1/films/search', views: 1 },
      { t: '2026-03-10T11:00:00Z', endpoint: '/api/v1/films/search', views: 1 },
    ]);
    // Six hours: still minutes; three days: 5-minute buckets.
    const wide = await get(
      `/api/v1/analytics/charts/page-views?from=2026-03-10T08:00:00Z&to=2026-03-10T14:00:00Z`,
    );
    expect(wide.bucket_seconds).toBe(60);
    const day = await get(`/api/v1/analytics/charts/page-views?from=2026-03-09&to=2026-03-12`);
    expect(day.bucket_seconds).toBe(300);
    expect((day.endpoints as Array<{ views: number }>).reduce((s, e) => s + e.views, 0)).toBe(12);
  });

  it('searches: top queries (trimmed, lower case) and those that found nothing', async () => {
    const s = await get(`/api/v1/analytics/charts/searches?${range}`);
    const img = '<img src=x onerror=alert(1)>';
    expect(s).toEqual({
      from: '2026-03-10T10:00:00.000Z',
      to: '2026-03-10T12:00:00.000Z',
      top: [
        { target: 'films', query: 'star', searches: 2, zero_results: 0 },
        { target: 'films', query: 'zzqx', searches: 2, zero_results: 2 },
        { target: 'films', query: img, searches: 1, zero_results: 1 },
        { target: 'persons', query: 'nolan', searches: 1, zero_results: 1 },
      ],
      zero_results: [
        { target: 'films', query: 'zzqx', searches: 2, zero_results: 2 },
        { target: 'films', query: img, searches: 1, zero_results: 1 },
        { target: 'persons', query: 'nolan', searches: 1, zero_results: 1 },
      ],
      searches: 6,
      zero_result_searches: 4,
    });
  });

  it('active viewers per minute (distinct viewers over every player event)', async () => {
    const a = await get(`/api/v1/analytics/charts/active-viewers?${range}`);
    expect(a.series).toEqual([
      { t: '2026-03-10T10:05:00Z', viewers: 3 },
      { t: '2026-03-10T10:06:00Z', viewers: 1 },
      { t: '2026-03-10T10:20:00Z', viewers: 1 },
      { t: '2026-03-10T10:30:00Z', viewers: 1 },
      { t: '2026-03-10T10:50:00Z', viewers: 1 },
      { t: '2026-03-10T11:30:00Z', viewers: 1 },
      { t: '2026-03-10T11:40:00Z', viewers: 1 },
      { t: '2026-03-10T11:50:00Z', viewers: 1 },
    ]);
    expect([a.peak, a.bucket_seconds]).toEqual([3, 60]);
    const one = await get(`/api/v1/analytics/charts/active-viewers?${range}&film_id=${A}`);
    expect(one.series).toEqual([
      { t: '2026-03-10T10:05:00Z', viewers: 2 },
      { t: '2026-03-10T10:06:00Z', viewers: 1 },
      { t: '2026-03-10T10:20:00Z', viewers: 1 },
      { t: '2026-03-10T10:30:00Z', viewers: 1 },
      { t: '2026-03-10T10:50:00Z', viewers: 1 },
      { t: '2026-03-10T11:30:00Z', viewers: 1 },
    ]);
    // Over the two hours as one bucket of a wider range: 5 distinct viewers (u1 u2 u3 u4 u5).
    const wide = await get(`/api/v1/analytics/charts/active-viewers?from=2026-03-01&to=2026-03-31`);
    expect(wide.bucket_seconds).toBe(3600);
    const wideA = await get(
      `/api/v1/analytics/charts/active-viewers?from=2026-03-01&to=2026-03-31&film_id=${A}`,
    );
    expect(wideA.series).toEqual([
      { t: '2026-03-10T09:00:00Z', viewers: 1 },
      { t: '2026-03-10T10:00:00Z', viewers: 3 },
      { t: '2026-03-10T11:00:00Z', viewers: 1 },
      { t: '2026-03-10T12:00:00Z', viewers: 1 },
    ]);
    expect(wide.series).toEqual([
      { t: '2026-03-10T09:00:00Z', viewers: 1 },
      { t: '2026-03-10T10:00:00Z', viewers: 4 },
      { t: '2026-03-10T11:00:00Z', viewers: 3 },
      { t: '2026-03-10T12:00:00Z', viewers: 1 },
    ]);
  });

  it('films picker: films with player events, most events first', async () => {
    expect((await get(`/api/v1/analytics/charts/films?${range}`)).films).toEqual([
      { film_id: A, events: 10 },
      { film_id: B, events: 3 },
      { film_id: C, events: 1 },
    ]);
  });

  it('widens the range to whole hours and defaults to the last day', async () => {
    const r = await get(
      `/api/v1/analytics/charts/films?from=2026-03-10T10:30:00%2B01:00&to=2026-03-10T11:00:01Z`,
    );
    expect([r.from, r.to]).toEqual(['2026-03-10T09:00:00.000Z', '2026-03-10T12:00:00.000Z']);
    const d = await get('/api/v1/analytics/charts/films');
    expect(Date.parse(d.to as string) - Date.parse(d.from as string)).toBe(86_400_000);
  });
});

describe('guards', () => {
  it('401 without a token, 403 for a viewer', async () => {
    const none = await request(app).get('/api/v1/analytics/charts/searches');
    expect(none.status).toBe(401);
    expect(none.type).toBe('application/problem+json');
    const viewer = await issuer.token(randomUUID(), ['public_user']);
    const forbidden = await request(app)
      .get('/api/v1/analytics/charts/searches')
      .set('authorization', `Bearer ${viewer}`);
    expect(forbidden.status).toBe(403);
  });

  it.each([
    ['pause-heatmap?from=yesterday', 'from'],
    ['pause-heatmap?from=2026-03-10T10:00:00', 'from'], // no zone
    ["searches?to=2026-03-10'; DROP TABLE x", 'to'],
    ['quality-switches?from=2026-03-10T12:00:00Z&to=2026-03-10T10:00:00Z', 'from'],
    ['active-viewers?from=2025-01-01&to=2026-01-01', 'from'], // more than 92 days
    ['active-viewers?film_id=not-a-film', 'film_id'],
    ['pause-heatmap?films=0', 'films'],
    ['full-view-rate?limit=101', 'limit'],
    ['films?limit=1.5', 'limit'],
  ])('422 problem+json for %s', async (query, field) => {
    const res = await request(app)
      .get(`/api/v1/analytics/charts/${query}`)
      .set('authorization', `Bearer ${analyst}`);
    expect(res.status).toBe(422);
    expect(res.type).toBe('application/problem+json');
    expect(JSON.stringify(res.body)).toContain(field);
  });
});

describe('the page', () => {
  const cookiesOf = (res: request.Response): string[] =>
    ([] as string[]).concat(res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!);
  const csrfOf = (text: string) => /name="_csrf" value="([\w-]+)"/.exec(text)![1]!;

  async function logIn(email: string) {
    const form = await request(app).get('/analytics/login');
    const cookies = cookiesOf(form);
    const res = await request(app)
      .post('/analytics/login')
      .set('cookie', cookies.join('; '))
      .type('form')
      .send({ _csrf: csrfOf(form.text), email, password: 'pw', next: '/analytics/?range=custom' });
    return { res, cookies: [...cookies, ...cookiesOf(res)] };
  }

  it('sends the anonymous to the login, refuses a form without its CSRF token', async () => {
    const res = await request(app).get('/analytics/?range=24');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/analytics/login?next=%2Fanalytics%2F%3Frange%3D24');
    const forged = await request(app)
      .post('/analytics/login')
      .type('form')
      .send({ email: 'analyst@test', password: 'pw' });
    expect(forged.status).toBe(403);
  });

  it('lets an analyst in, keeps a viewer out, never redirects off the page', async () => {
    const viewer = await logIn('viewer@test');
    expect(viewer.res.status).toBe(403);
    const { res, cookies } = await logIn('analyst@test');
    expect([res.status, res.headers.location]).toEqual([303, '/analytics/?range=custom']);
    const page = await request(app)
      .get(`/analytics/?range=custom&from=2026-03-10T10:00&to=2026-03-10T12:00&film=${A}`)
      .set('cookie', cookies.join('; '));
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    // Six charts and their tables; the searched markup is text, never markup.
    expect(page.text.match(/class="chart"/g)).toHaveLength(6);
    expect(page.text).not.toContain('<img src=x');
    expect(page.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page.text).toContain('Quality switches: 1 up, 2 down');
    expect(page.text).toContain('Searches: 6, 4 found nothing');
    const off = await request(app)
      .post('/analytics/login')
      .set('cookie', cookies.join('; '))
      .type('form')
      .send({
        _csrf: csrfOf(page.text),
        email: 'analyst@test',
        password: 'pw',
        next: '//evil.test/',
      });
    expect(off.headers.location).toBe('/analytics/');
    const bad = await request(app)
      .get('/analytics/?range=custom&from=2026-03-10T12:00&to=2026-03-10T10:00')
      .set('cookie', cookies.join('; '));
    expect(bad.status).toBe(422);
    const js = await request(app).get('/analytics/static/echarts.min.js');
    expect([js.status, js.type, js.body.length > 500_000 || js.text.length > 500_000]).toEqual([
      200,
      'application/javascript',
      true,
    ]);
  });
});
