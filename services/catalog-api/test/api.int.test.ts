/**
 * catalog-api on the stack's real servers: the catalog in Elasticsearch as catalog-etl indexes
 * it (test/catalog-fixture.ts), this API (JWT from a JWKS on loopback), the Redis cache
 * invalidated by the ETL's generation bump, page-view events read back from Kafka; bad input
 * answers 4xx problem+json. The real ETL feeding this API: tests/catalog.
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { Redis } from 'ioredis';
import request from 'supertest';
import {
  deleteTestTopics,
  startTestIssuer,
  suffix,
  waitFor,
  type TestIssuer,
} from '@cinema/testing';
import { PAGE_VIEW_TOPICS, topicName } from '@cinema/kafka';
import {
  PAGE_VIEW_ENDPOINTS,
  type PageView,
  type PageViewEndpoint,
} from '../src/adapters/page-views.producer';
import { generateCatalog, IndexedCatalog, type Catalog } from './catalog-fixture';
import { counter, LOCAL_CHECK_MS, makeApi } from './support';

const sfx = suffix();
const prefix = `apitest_${sfx}_`;
const topicPrefix = `test.${sfx}.`;
const pageViewTopic = (e: PageViewEndpoint) => topicName(PAGE_VIEW_TOPICS[e], topicPrefix);
const generationKey = `catalog-api-test:${sfx}:generation`;
const cachePrefix = `catalog-api-test:${sfx}:`;
const TITLES = ['The Galactic Voyage', 'Silent River Crossing', 'Winter of the Dragon'];

const es = new Client({ node: process.env.ELASTICSEARCH_URL! });
const redis = new Redis(process.env.REDIS_URL!);
let index: IndexedCatalog;
let catalog: Catalog;
let issuer: TestIssuer;
let api: ReturnType<typeof makeApi>;
let token: string;
const userId = randomUUID();

const get = (path: string, t: string | undefined = token) => {
  const r = request(api.app).get(path);
  return t ? r.set('Authorization', `Bearer ${t}`) : r;
};

beforeAll(async () => {
  catalog = generateCatalog({ films: 60, genres: 4, persons: 12, titles: TITLES });
  index = new IndexedCatalog(es, prefix, redis, generationKey, catalog);
  await index.load();
  issuer = await startTestIssuer();
  token = await issuer.token(userId);
  api = makeApi({ prefix, jwksUrl: issuer.jwksUrl, topicPrefix, generationKey, cachePrefix });
});

afterAll(async () => {
  await api?.close();
  await issuer?.close();
  // The topics go only once the API that writes to them is closed: a send to a deleted topic
  // retries its metadata lookups past the end of the file.
  await deleteTestTopics(PAGE_VIEW_ENDPOINTS.map(pageViewTopic));
  await index?.drop();
  const keys = await redis.keys(`catalog-api-test:${sfx}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await es.close();
});

describe('authentication', () => {
  it('requires a valid Bearer token', async () => {
    const none = await get('/api/v1/films', '');
    expect(none.status).toBe(401);
    expect(none.headers['content-type']).toMatch(/application\/problem\+json/);
    const forged = await get('/api/v1/films', `${token.slice(0, -4)}AAAA`);
    expect(forged.status).toBe(401);
  });
});

describe('films', () => {
  it('lists by rating, both ways, with pagination and a total', async () => {
    const desc = await get('/api/v1/films?page_size=100');
    expect(desc.status).toBe(200);
    expect(desc.body.total).toBe(60);
    const ratings = desc.body.items.map((f: { rating: number }) => f.rating);
    expect(ratings).toEqual([...ratings].sort((a, b) => b - a));
    const asc = await get('/api/v1/films?sort=rating&page_size=100');
    expect(asc.body.items.map((f: { rating: number }) => f.rating)).toEqual([...ratings].reverse());

    const p1 = await get('/api/v1/films?page_number=1&page_size=7');
    const p2 = await get('/api/v1/films?page_number=2&page_size=7');
    expect(p1.body.items).toHaveLength(7);
    expect(p2.body).toMatchObject({ page_number: 2, page_size: 7, total: 60 });
    const ids = [...p1.body.items, ...p2.body.items].map((f: { id: string }) => f.id);
    expect(new Set(ids).size).toBe(14);
    expect(ids).toEqual(desc.body.items.slice(0, 14).map((f: { id: string }) => f.id));
  });

  it('filters by genre', async () => {
    const genre = catalog.genres[1]!;
    const expected = catalog.films
      .filter((f) => catalog.filmGenres.get(f.id)!.includes(genre.id))
      .map((f) => f.id)
      .sort();
    const r = await get(`/api/v1/films?genre=${genre.id}&page_size=100`);
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(expected.length);
    expect(r.body.items.map((f: { id: string }) => f.id).sort()).toEqual(expected);
  });

  it('gives one film with genres and people by role, 404 for an unknown id', async () => {
    const f = catalog.films[5]!;
    const r = await get(`/api/v1/films/${f.id}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: f.id, title: f.title, type: 'movie' });
    expect(r.body.rating).toBeCloseTo(f.rating);
    expect(r.body.genres.map((g: { id: string }) => g.id).sort()).toEqual(
      [...catalog.filmGenres.get(f.id)!].sort(),
    );
    const links = catalog.filmPersons.get(f.id)!;
    for (const [role, key] of [
      ['actor', 'actors'],
      ['director', 'directors'],
      ['writer', 'writers'],
    ] as const) {
      expect(r.body[key].map((p: { id: string }) => p.id).sort()).toEqual(
        links
          .filter(([, l]) => l === role)
          .map(([p]) => p)
          .sort(),
      );
    }
    const missing = await get(`/api/v1/films/${randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toMatch(/application\/problem\+json/);
  });

  it('searches titles and person names, tolerating typos', async () => {
    const r = await get(`/api/v1/films/search?query=${encodeURIComponent('galactc voyge')}`);
    expect(r.status).toBe(200);
    expect(r.body.items[0].title).toBe('The Galactic Voyage');

    const person = catalog.persons[3]!;
    const filmsOfPerson = [...catalog.filmPersons]
      .filter(([, ps]) => ps.some(([p]) => p === person.id))
      .map(([id]) => id);
    // "Dmitri Petrov 3" with a typo in the surname.
    const typo = person.full_name.replace(
      /(\w+) (\w)(\w+)/,
      (_m, a, b, c) => `${a} ${b}${c.slice(1)}`,
    );
    expect(typo).not.toBe(person.full_name);
    const byName = await get(
      `/api/v1/films/search?page_size=100&query=${encodeURIComponent(typo)}`,
    );
    const found = byName.body.items.map((f: { id: string }) => f.id);
    expect(filmsOfPerson.every((id) => found.includes(id))).toBe(true);
  });
});

describe('genres and persons', () => {
  it('lists genres and gives one', async () => {
    const list = await get('/api/v1/genres');
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(4);
    expect(list.body.items.map((g: { id: string }) => g.id).sort()).toEqual(
      catalog.genres.map((g) => g.id).sort(),
    );
    const g = catalog.genres[2]!;
    const one = await get(`/api/v1/genres/${g.id}`);
    expect(one.body).toEqual({ id: g.id, name: g.name, description: null });
    expect((await get(`/api/v1/genres/${randomUUID()}`)).status).toBe(404);
  });

  it('gives a person with their films and roles, their films, and finds persons by name', async () => {
    const person = catalog.persons[0]!;
    const expected = new Map<string, string[]>();
    for (const [filmId, links] of catalog.filmPersons) {
      const roles = links.filter(([p]) => p === person.id).map(([, r]) => r);
      if (roles.length) expected.set(filmId, [...new Set(roles)].sort());
    }
    const r = await get(`/api/v1/persons/${person.id}`);
    expect(r.status).toBe(200);
    expect(r.body.full_name).toBe(person.full_name);
    expect(r.body.films).toHaveLength(expected.size);
    for (const f of r.body.films as Array<{ id: string; roles: string[] }>) {
      expect(f.roles).toEqual(expected.get(f.id));
    }
    const films = await get(`/api/v1/persons/${person.id}/film`);
    expect(films.body.map((f: { id: string }) => f.id).sort()).toEqual([...expected.keys()].sort());

    const search = await get(
      `/api/v1/persons/search?query=${encodeURIComponent(person.full_name.replace('Anna', 'Ana'))}`,
    );
    expect(search.status).toBe(200);
    expect(search.body.items[0].id).toBe(person.id);
    expect(search.body.items[0].films).toHaveLength(expected.size);
    expect((await get(`/api/v1/persons/${randomUUID()}`)).status).toBe(404);
  });
});

describe('bad input', () => {
  it.each([
    ['page size 10^6', '/api/v1/films?page_size=1000000'],
    ['page size 0', '/api/v1/films?page_size=0'],
    ['page size not a number', '/api/v1/genres?page_size=abc'],
    ['page beyond the result window', '/api/v1/films?page_number=101&page_size=100'],
    ['unknown sort field', '/api/v1/films?sort=title'],
    ['malformed genre id', '/api/v1/films?genre=drama'],
    ['malformed film id', '/api/v1/films/not-a-uuid'],
    ['malformed person id', `/api/v1/persons/${'1'.repeat(36)}`],
    ['malformed genre id in path', "/api/v1/genres/1' OR 1=1"],
    ['10 KB film query', `/api/v1/films/search?query=${'a'.repeat(10_240)}`],
    ['10 KB person query', `/api/v1/persons/search?query=${'b'.repeat(10_240)}`],
    ['empty query', '/api/v1/films/search?query='],
  ])('%s answers 4xx problem+json', async (_what, path) => {
    const r = await get(path);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(r.body.status).toBe(r.status);
  });
});

describe('cache', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const hits = (registry = api.registry) =>
    counter(registry, 'catalog_api_cache_requests_total', { result: 'hit' });

  it('serves repeated calls from the cache and an answer older than the last ETL write for at most the check interval', async () => {
    const f = catalog.films[10]!;
    const before = await hits();
    const first = await get(`/api/v1/films/${f.id}`);
    expect(first.body.title).toBe(f.title);
    const second = await get(`/api/v1/films/${f.id}`);
    expect(second.body.title).toBe(f.title);
    expect(await hits()).toBe(before + 1);
    // A hit writes the bytes kept in the cache: the same body and headers as a fresh answer.
    expect(second.headers['content-type']).toBe(first.headers['content-type']);
    expect(second.headers['content-type']).toMatch(/^application\/json; charset=utf-8$/);
    expect(second.text).toBe(first.text);
    expect(second.text).toBe(JSON.stringify(second.body));

    // The index changes, but until the ETL bumps the generation the cached answer stands...
    await index.retitleFilm(f.id, 'Cached No More', { bump: false });
    expect((await get(`/api/v1/films/${f.id}`)).body.title).toBe(f.title);
    await index.bumpGeneration();
    // ...and once the in-process layer's generation check is due, the new one is served,
    // although the entry's TTL has not run out.
    await sleep(LOCAL_CHECK_MS + 20);
    expect((await get(`/api/v1/films/${f.id}`)).body.title).toBe('Cached No More');
  });

  it('answers a cached answer through the whole pipeline, with the headers of a fresh one', async () => {
    const served = async () => {
      const metric = api.registry.getSingleMetric('http_server_request_duration_seconds')!;
      return (await metric.get()).values
        .filter(
          (v) =>
            (v as { metricName?: string }).metricName ===
              'http_server_request_duration_seconds_count' &&
            v.labels.route === '/api/v1/films/:film_id' &&
            String(v.labels.status) === '200',
        )
        .reduce((a, v) => a + v.value, 0);
    };
    const f = catalog.films[12]!;
    const url = `/api/v1/films/${f.id}`;
    const h0 = await hits();
    const first = await get(url).set('X-Request-Id', 'cached-first').expect(200);
    const s0 = await served();
    const second = await get(url).set('X-Request-Id', 'cached-second').expect(200);
    expect(await hits()).toBe(h0 + 1);
    // Counted in the app's duration histogram under the route.
    expect(await served()).toBe(s0 + 1);
    expect(second.text).toBe(first.text);
    expect(second.headers['x-request-id']).toBe('cached-second');
    const comparable = (h: Record<string, string>) =>
      Object.fromEntries(
        Object.entries(h).filter(([k]) => !['date', 'x-request-id', 'etag'].includes(k)),
      );
    expect(comparable(second.headers)).toEqual(comparable(first.headers));
    expect(second.headers['content-security-policy']).toBeDefined();
    expect(second.headers['access-control-expose-headers']).toBe('X-Request-Id,Retry-After');

    // A bad token on the URL of a cached answer: 401 problem+json.
    const bad = await request(api.app)
      .get(url)
      .set('Authorization', `Bearer ${token.slice(0, -4)}AAAA`);
    expect(bad.status).toBe(401);
    expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
    // No token, HEAD, a CORS origin (with its CORS headers).
    expect((await request(api.app).get(url)).status).toBe(401);
    expect((await get(url).set('Origin', 'http://cors.example').expect(200)).headers).toMatchObject(
      { 'access-control-allow-origin': 'http://cors.example' },
    );
    await request(api.app).head(url).set('Authorization', `Bearer ${token}`).expect(200);
    // Another URL of the same call (an unknown parameter) is the same cached answer.
    const other = await get(`${url}?x=1`).expect(200);
    expect(other.text).toBe(first.text);
  });

  it('never serves an entry, from either layer, longer than the TTL', async () => {
    // A Redis command that times out is a miss by design ("answering from the index"), which
    // would make the "still cached" step below fail on a loaded machine for the wrong reason:
    // this cache waits up to 2 s for Redis, and the TTL leaves room for that.
    const TTL_S = 5;
    const short = makeApi({
      prefix,
      jwksUrl: issuer.jwksUrl,
      topicPrefix,
      generationKey,
      cachePrefix: `${cachePrefix}ttl:`,
      ttlSeconds: TTL_S,
      redisTimeoutMs: 2000,
    });
    try {
      const f = catalog.films[30]!;
      const ask = () =>
        request(short.app).get(`/api/v1/films/${f.id}`).set('Authorization', `Bearer ${token}`);
      const asked = Date.now();
      expect((await ask()).body.title).toBe(f.title);
      const computed = Date.now();
      // The index changes without the ETL (no generation bump): only the TTL can end the entry.
      await es.update({
        index: `${prefix}films`,
        id: f.id,
        doc: { title: 'Written Behind The Cache' },
        refresh: true,
      });
      // Still within the TTL (a slow refresh on a busy machine would make the next check moot).
      expect(Date.now() - asked).toBeLessThan(TTL_S * 1000 - 2500);
      const before = await hits(short.registry);
      expect((await ask()).body.title).toBe(f.title);
      expect(await hits(short.registry)).toBe(before + 1);
      await sleep(TTL_S * 1000 - (Date.now() - computed) + 50);
      expect((await ask()).body.title).toBe('Written Behind The Cache');
    } finally {
      await short.close();
    }
  });
});

describe('page views', () => {
  let consumer: Consumer;
  const seen: PageView[] = [];
  const topics = new Map<string, string>();

  beforeAll(async () => {
    const kafka = new Kafka({
      clientId: 'catalog-api-test-consumer',
      brokers: process.env.KAFKA_BROKERS!.split(','),
      logLevel: logLevel.NOTHING,
    });
    await waitFor(() => api.producer.ping().then(() => true), 30_000, 'producer connected');
    consumer = kafka.consumer({ groupId: `catalog-api-test-${sfx}` });
    await consumer.connect();
    await consumer.subscribe({
      topics: PAGE_VIEW_ENDPOINTS.map(pageViewTopic),
      fromBeginning: true,
    });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const view = JSON.parse(message.value!.toString()) as PageView;
        topics.set(view.event_id, topic);
        expect(message.key!.toString()).toBe(view.user_id);
        seen.push(view);
      },
    });
  });

  afterAll(async () => {
    await consumer?.disconnect();
  });

  it('emits one event per call to the endpoint topic, with user, endpoint and parameters', async () => {
    const viewer = randomUUID();
    const t = await issuer.token(viewer);
    const f = catalog.films[1]!;
    const g = catalog.genres[0]!;
    const p = catalog.persons[2]!;
    await get(`/api/v1/films?sort=rating&page_size=3`, t).expect(200);
    await get(`/api/v1/films/${f.id}`, t).expect(200);
    // The same call again: answered from the cache, with its event too.
    await get(`/api/v1/films/${f.id}`, t).expect(200);
    const river = await get(`/api/v1/films/search?query=river`, t).expect(200);
    await get(`/api/v1/films/search?query=zzqxnothing`, t).expect(200);
    await get(`/api/v1/genres`, t).expect(200);
    await get(`/api/v1/genres/${g.id}`, t).expect(200);
    await get(`/api/v1/persons/${p.id}`, t).expect(200);
    await get(`/api/v1/persons/search?query=anna`, t).expect(200);
    await get(`/api/v1/films?page_size=1000000`, t).expect(422);

    const mine = await waitFor(
      async () => {
        const m = seen.filter((v) => v.user_id === viewer);
        return m.length >= 10 ? m : undefined;
      },
      30_000,
      'page-view events',
    );
    expect(mine).toHaveLength(10);
    const byTopic = (e: PageViewEndpoint) =>
      mine.filter((v) => topics.get(v.event_id) === pageViewTopic(e));
    expect(
      byTopic('get_films')
        .map((v) => v.status_code)
        .sort(),
    ).toEqual([200, 422]);
    expect(byTopic('get_films').find((v) => v.status_code === 200)!.params).toEqual({
      sort: 'rating',
      page_size: '3',
    });
    const byId = byTopic('get_film_by_id');
    expect(byId).toHaveLength(2);
    expect(byId[1]).toMatchObject({
      endpoint: '/api/v1/films/{film_id}',
      params: { film_id: f.id },
      status_code: 200,
    });
    expect(byId[1]!.event_id).not.toBe(byId[0]!.event_id);
    const one = byId[0]!;
    expect(one).toMatchObject({
      endpoint: '/api/v1/films/{film_id}',
      params: { film_id: f.id },
      status_code: 200,
    });
    expect(one.event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(one.event_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // Searches and lists carry the answer's total (the analytics page's zero-result searches).
    const searches = byTopic('search_films_by_keyword');
    expect(searches.map((v) => [v.params, v.result_count])).toEqual([
      [{ query: 'river' }, (river.body as { total: number }).total],
      [{ query: 'zzqxnothing' }, 0],
    ]);
    expect((river.body as { total: number }).total).toBeGreaterThan(0);
    expect(one.result_count).toBeUndefined();
    expect(byTopic('get_genres')).toHaveLength(1);
    expect(byTopic('get_genre_by_id')[0]!.params).toEqual({ genre_id: g.id });
    expect(byTopic('get_person_by_id')[0]!.params).toEqual({ person_id: p.id });
    expect(byTopic('search_persons_by_keyword')[0]!.params).toEqual({ query: 'anna' });
  });
});

describe('outages', () => {
  it('counts events it cannot send and keeps answering; Redis down means no cache, Elasticsearch down 503', async () => {
    const broken = makeApi({
      prefix,
      jwksUrl: issuer.jwksUrl,
      topicPrefix,
      generationKey,
      cachePrefix,
      brokers: ['127.0.0.1:1'],
      redisUrl: 'redis://127.0.0.1:1',
      bufferSize: 3,
    });
    try {
      const started = Date.now();
      for (let i = 0; i < 6; i++) {
        const r = await request(broken.app)
          .get('/api/v1/genres')
          .set('Authorization', `Bearer ${token}`);
        expect(r.status).toBe(200);
        expect(r.body.total).toBe(4);
      }
      expect(Date.now() - started).toBeLessThan(3000);
      const metrics = await request(broken.app).get('/metrics');
      expect(metrics.text).toMatch(
        /catalog_api_page_view_events_failed_total\{reason="buffer_full"\} 3/,
      );
      expect(metrics.text).toMatch(/catalog_api_cache_requests_total\{result="error"\} [1-9]/);
    } finally {
      await broken.close();
    }

    const noIndex = makeApi({
      prefix,
      jwksUrl: issuer.jwksUrl,
      topicPrefix,
      generationKey,
      cachePrefix: `${cachePrefix}noindex:`,
      esUrl: 'http://127.0.0.1:1',
      brokers: ['127.0.0.1:1'],
    });
    try {
      const r = await request(noIndex.app)
        .get('/api/v1/films')
        .set('Authorization', `Bearer ${token}`);
      expect(r.status).toBe(503);
      expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(r.headers['retry-after']).toBe('5');
    } finally {
      await noIndex.close();
    }
  });
});

describe('changes the ETL writes reach the API', () => {
  it('serves an edit, a person rename and a delete within seconds, over a warm cache', async () => {
    const f = catalog.films[20]!;
    const victim = catalog.films[21]!;
    const person = catalog.persons[5]!;
    const filmOfPerson = [...catalog.filmPersons].find(
      ([id, ps]) => id !== victim.id && ps.some(([p]) => p === person.id),
    )![0];
    // The old answers cached first.
    for (const id of [f.id, victim.id, filmOfPerson]) await get(`/api/v1/films/${id}`).expect(200);
    const started = Date.now();
    await index.retitleFilm(f.id, 'Zanzibar Nightfall');
    await index.renamePerson(person.id, 'Quentin Quartermaine');
    await index.deleteFilm(victim.id);

    await waitFor(
      async () => {
        const r = await get(`/api/v1/films/search?query=zanzibar%20nightfal`);
        return r.body.items[0]?.id === f.id;
      },
      10_000,
      'edited title searchable',
    );
    await waitFor(
      async () => (await get(`/api/v1/films/${victim.id}`)).status === 404,
      10_000,
      'deleted film gone',
    );
    await waitFor(
      async () => {
        const r = await get(`/api/v1/persons/search?query=quartermain`);
        return r.body.items[0]?.id === person.id;
      },
      10_000,
      'renamed person searchable',
    );
    const film = await get(`/api/v1/films/${filmOfPerson}`);
    const names = [...film.body.actors, ...film.body.directors, ...film.body.writers].map(
      (p: { full_name: string }) => p.full_name,
    );
    expect(names).toContain('Quentin Quartermaine');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
