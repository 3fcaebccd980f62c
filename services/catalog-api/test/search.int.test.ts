/**
 * Search relevance and suggestions on real Elasticsearch: a catalog with titles that compete the
 * way the legacy catalog's do (an exact title, titles that contain it, a better rated film that
 * only shares a word), indexed with catalog-etl's mappings (test/catalog-fixture.ts), searched
 * through this API. The relevance over the whole legacy catalog is measured by
 * bench/relevance.bench.ts.
 */
import { Client } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import request from 'supertest';
import { startTestIssuer, suffix, type TestIssuer } from '@cinema/testing';
import { generateCatalog, IndexedCatalog, type Catalog } from './catalog-fixture';
import { makeApi } from './support';

const sfx = suffix();
const prefix = `searchtest_${sfx}_`;
const generationKey = `catalog-api-searchtest:${sfx}:generation`;
const cachePrefix = `catalog-api-searchtest:${sfx}:`;
/** The first films' titles; the others are generated (two of the words star, wars, galaxy, ...). */
const TITLES = [
  'The Secret World of Jeffree Star',
  'Lego Star Wars: The Force Awakens',
  'Star Wars: Episode IV - A New Hope',
  'Star Wars',
  'The Star Wars Holiday Special',
  'Star Trek',
  'Star Trak',
  'A Star Is Born',
  'Dark Star',
  'Star Wars: The Empire Strikes Back',
];

const es = new Client({ node: process.env.ELASTICSEARCH_URL! });
const redis = new Redis(process.env.REDIS_URL!);
let index: IndexedCatalog;
let catalog: Catalog;
let issuer: TestIssuer;
let api: ReturnType<typeof makeApi>;
let token: string;

const get = (path: string, t: string | undefined = token) => {
  const r = request(api.app).get(path);
  return t ? r.set('Authorization', `Bearer ${t}`) : r;
};
const titles = (body: { items: Array<{ title: string }> }) => body.items.map((f) => f.title);
const filmId = (title: string) => catalog.films.find((f) => f.title === title)!.id;

beforeAll(async () => {
  catalog = generateCatalog({ films: 80, genres: 3, persons: 20, titles: TITLES });
  // The loosely matching film is the best rated: the rating must not lift it above relevance.
  catalog.films[0]!.rating = 10;
  catalog.films[3]!.rating = 1;
  // A director with a name to search for, with typos.
  catalog.persons[0] = { ...catalog.persons[0]!, full_name: 'George Lucas' };
  index = new IndexedCatalog(es, prefix, redis, generationKey, catalog);
  await index.load();
  issuer = await startTestIssuer();
  token = await issuer.token('searcher');
  api = makeApi({
    prefix,
    jwksUrl: issuer.jwksUrl,
    topicPrefix: `test.${sfx}.`,
    generationKey,
    cachePrefix,
  });
});

afterAll(async () => {
  await api?.close();
  await issuer?.close();
  await index?.drop();
  const keys = await redis.keys(`catalog-api-searchtest:${sfx}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await es.close();
});

describe('film search ranking', () => {
  it('puts the exact title first, then titles with the phrase; a better rated film with one of the words comes after', async () => {
    const r = await get(`/api/v1/films/search?query=${encodeURIComponent('star wars')}`);
    expect(r.status).toBe(200);
    const found = titles(r.body);
    expect(found[0]).toBe('Star Wars');
    expect(r.body.total).toBe(found.length);
    // Every title with the phrase before any title without it.
    const withPhrase = found.filter((t) => /star wars/i.test(t));
    expect(found.slice(0, withPhrase.length)).toEqual(withPhrase);
    expect(withPhrase.sort()).toEqual(
      catalog.films
        .map((f) => f.title)
        .filter((t) => /star wars/i.test(t))
        .sort(),
    );
    // Every word matters: a film with only "star" is not an answer.
    expect(found).not.toContain('The Secret World of Jeffree Star');
    expect(found).not.toContain('Star Trek');
  });

  it('finds the exact title before the near one, and both', async () => {
    const trak = titles((await get('/api/v1/films/search?query=star%20trak')).body);
    expect(trak[0]).toBe('Star Trak');
    expect(trak).toContain('Star Trek');
    const trek = titles((await get('/api/v1/films/search?query=Star%20Trek')).body);
    expect(trek[0]).toBe('Star Trek');
  });

  it('matches nothing for a word no film has (no fuzzy match on unrelated films)', async () => {
    const r = await get('/api/v1/films/search?query=matrix');
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(0);
    expect(r.body.items).toEqual([]);
  });

  it('tolerates typos as a fallback: a partial title and a person name', async () => {
    const empire = titles((await get('/api/v1/films/search?query=empire%20strikes%20bak')).body);
    expect(empire[0]).toBe('Star Wars: The Empire Strikes Back');

    const lucasFilms = [...catalog.filmPersons]
      .filter(([, ps]) => ps.some(([p]) => p === catalog.persons[0]!.id))
      .map(([id]) => id)
      .sort();
    expect(lucasFilms.length).toBeGreaterThan(0);
    const byName = await get('/api/v1/films/search?query=georg%20lukas&page_size=100');
    expect(byName.body.items.map((f: { id: string }) => f.id).sort()).toEqual(lucasFilms);
  });

  it('finds persons by name with a typo, the right one first', async () => {
    const r = await get('/api/v1/persons/search?query=gorge%20lucas');
    expect(r.status).toBe(200);
    expect(r.body.items[0].full_name).toBe('George Lucas');
    expect(r.body.total).toBe(1);
  });
});

describe('suggestions', () => {
  it('suggests titles that start with the prefix, case-insensitively', async () => {
    const r = await get('/api/v1/films/suggest?prefix=STAR%20W&size=20');
    expect(r.status).toBe(200);
    expect(titles(r.body).sort()).toEqual(
      catalog.films
        .map((f) => f.title)
        .filter((t) => t.toLowerCase().startsWith('star w'))
        .sort(),
    );
    expect(titles(r.body)).toContain('Star Wars: Episode IV - A New Hope');
    expect(r.body.items.find((f: { title: string }) => f.title === 'Star Wars').id).toBe(
      filmId('Star Wars'),
    );
    const few = await get('/api/v1/films/suggest?prefix=st&size=2');
    expect(few.body.items).toHaveLength(2);
    const none = await get('/api/v1/films/suggest?prefix=zzz');
    expect(none.body).toEqual({ items: [] });
  });

  it.each([
    ['no prefix', '/api/v1/films/suggest'],
    ['empty prefix', '/api/v1/films/suggest?prefix='],
    ['blank prefix', '/api/v1/films/suggest?prefix=%20%20'],
    ['prefix of 101 characters', `/api/v1/films/suggest?prefix=${'a'.repeat(101)}`],
    ['size 0', '/api/v1/films/suggest?prefix=st&size=0'],
    ['size 21', '/api/v1/films/suggest?prefix=st&size=21'],
  ])('%s answers 422 problem+json', async (_what, path) => {
    const r = await get(path);
    expect(r.status).toBe(422);
    expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(r.body.status).toBe(422);
  });

  it('requires a Bearer token', async () => {
    const r = await get('/api/v1/films/suggest?prefix=star', '');
    expect(r.status).toBe(401);
    expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
  });
});
