/**
 * The ETL against the stack's real PostgreSQL and Elasticsearch: full load with keyset ties,
 * genre and person renames fanning out to films, deletes, restart after a crash, and backoff
 * while PostgreSQL and Elasticsearch are down.
 */
import { Client } from '@elastic/elasticsearch';
import * as client from 'prom-client';
import { createLogger } from '@cinema/logging';
import { createPool } from '@cinema/pg';
import { suffix, waitFor } from '@cinema/testing';
import { ContentRepository } from '../src/adapters/content.repository';
import { EtlMetrics } from '../src/adapters/etl.metrics';
import { SearchIndex } from '../src/adapters/search.index';
import { StateRepository } from '../src/adapters/state.repository';
import { Etl, type IndexName, type SearchSink } from '../src/domain/etl';
import type { FilmDoc } from '../src/domain/documents';
import { Runner } from '../src/domain/runner';
import {
  createTestDatabase,
  OutageProxy,
  seedCatalog,
  type Catalog,
  type TestDatabase,
} from './helpers';

const logger = createLogger({
  service: 'catalog-etl-test',
  level: (process.env.TEST_LOG_LEVEL as 'info') ?? 'silent',
});
const es = new Client({ node: process.env.ELASTICSEARCH_URL! });
const prefixes: string[] = [];
let db: TestDatabase;

const newPrefix = () => {
  const p = `etltest_${suffix()}_`;
  prefixes.push(p);
  return p;
};

function makeEtl(
  pool = db.pool,
  prefix: string,
  opts: {
    batchSize?: number;
    sink?: SearchSink;
    esClient?: Client;
    registry?: client.Registry;
  } = {},
) {
  const sink = opts.sink ?? new SearchIndex(opts.esClient ?? es, prefix, 'standard');
  const metrics = new EtlMetrics(opts.registry ?? new client.Registry());
  const etl = new Etl({
    source: new ContentRepository(pool, 0),
    state: new StateRepository(pool, prefix),
    sink,
    observer: metrics,
    batchSize: opts.batchSize ?? 4,
  });
  const runner = new Runner(
    etl,
    { pollIntervalMs: 100, retryMinMs: 50, retryMaxMs: 400, retries: 0 },
    logger,
    metrics,
  );
  return { etl, runner, metrics };
}

async function ids(index: string): Promise<string[]> {
  await es.indices.refresh({ index });
  const r = await es.search<{ id: string }>({ index, size: 10_000, _source: ['id'] });
  return r.hits.hits.map((h) => h._id!).sort();
}

async function film(prefix: string, id: string): Promise<FilmDoc> {
  return (await es.get<FilmDoc>({ index: `${prefix}films`, id }))._source!;
}

beforeAll(async () => {
  db = await createTestDatabase('catalog_etl');
  await StateRepository.migrate(db.pool);
});

afterAll(async () => {
  if (prefixes.length) {
    await es.indices.delete({
      index: prefixes.flatMap((p) => ['films', 'genres', 'persons'].map((i) => `${p}${i}`)),
      ignore_unavailable: true,
    });
  }
  await es.close();
  await db?.drop();
});

describe('a catalog loaded in one go', () => {
  const prefix = newPrefix();
  let catalog: Catalog;

  beforeAll(async () => {
    // Every row shares one `modified`: batches of 4 must still see every row (ties by id).
    catalog = await seedCatalog(db.pool, {
      films: 25,
      genres: 3,
      persons: 6,
      modified: new Date(Date.now() - 60_000).toISOString(),
    });
    await new SearchIndex(es, prefix, 'standard').ensureIndices();
  });

  it('creates the indices with explicit mappings and indexes every row once', async () => {
    const mapping = await es.indices.getMapping({ index: `${prefix}films` });
    const props = mapping[`${prefix}films`]!.mappings.properties!;
    expect(props.persons!.type).toBe('nested');
    expect(props.rating!.type).toBe('float');
    expect((props.title as { fields: Record<string, { type: string }> }).fields.raw!.type).toBe(
      'keyword',
    );

    const { runner } = makeEtl(db.pool, prefix);
    const result = await runner.once();
    expect(result.indexed).toEqual({ films: 25, genres: 3, persons: 6 });
    expect(await ids(`${prefix}films`)).toEqual(catalog.films.map((f) => f.id).sort());
    expect(await ids(`${prefix}genres`)).toEqual(catalog.genres.map((g) => g.id).sort());
    expect(await ids(`${prefix}persons`)).toEqual(catalog.persons.map((p) => p.id).sort());

    const f = catalog.films[0]!;
    const doc = await film(prefix, f.id);
    expect(doc.title).toBe(f.title);
    expect(doc.rating).toBeCloseTo(f.rating);
    expect(doc.genres.map((g) => g.id).sort()).toEqual([...catalog.filmGenres.get(f.id)!].sort());
    expect(doc.persons.map((p) => `${p.id}:${p.role}`).sort()).toEqual(
      catalog.filmPersons
        .get(f.id)!
        .map(([p, r]) => `${p}:${r}`)
        .sort(),
    );

    // Nothing changed: a second pass writes nothing.
    expect((await runner.once()).indexed).toEqual({ films: 0, genres: 0, persons: 0 });
  });

  it('carries edits, genre and person renames, link removals and deletes to the index', async () => {
    const { runner } = makeEtl(db.pool, prefix);
    const [f0, f1] = catalog.films;
    const genre = catalog.genres[0]!;
    const person = catalog.persons[0]!;
    const filmsOfGenre = [...catalog.filmGenres].filter(([, g]) => g.includes(genre.id));
    const filmsOfPerson = [...catalog.filmPersons].filter(([, ps]) =>
      ps.some(([p]) => p === person.id),
    );
    expect(filmsOfGenre.length).toBeGreaterThan(1);
    expect(filmsOfPerson.length).toBeGreaterThan(1);

    await db.pool.query(`UPDATE content.film_work SET title = 'Edited title' WHERE id = $1`, [
      f0!.id,
    ]);
    await db.pool.query(`UPDATE content.genre SET name = 'Renamed genre' WHERE id = $1`, [
      genre.id,
    ]);
    await db.pool.query(`UPDATE content.person SET full_name = 'Renamed Person' WHERE id = $1`, [
      person.id,
    ]);
    const [removedPerson] = catalog.filmPersons.get(f1!.id)![0]!;
    await db.pool.query(
      `DELETE FROM content.person_film_work WHERE film_work_id = $1 AND person_id = $2`,
      [f1!.id, removedPerson],
    );
    const result = await runner.once();
    expect(result.indexed.genres).toBe(1);
    expect(result.indexed.persons).toBe(1);

    expect((await film(prefix, f0!.id)).title).toBe('Edited title');
    for (const [id] of filmsOfGenre) {
      const doc = await film(prefix, id);
      expect(doc.genres.find((g) => g.id === genre.id)?.name).toBe('Renamed genre');
    }
    for (const [id] of filmsOfPerson) {
      const doc = await film(prefix, id);
      expect(doc.persons.filter((p) => p.id === person.id).map((p) => p.full_name)).toContain(
        'Renamed Person',
      );
      expect(doc.person_names).toContain('Renamed Person');
    }
    expect((await film(prefix, f1!.id)).persons.map((p) => p.id)).not.toContain(removedPerson);
    const personDoc = await es.get<{ full_name: string }>({
      index: `${prefix}persons`,
      id: person.id,
    });
    expect(personDoc._source!.full_name).toBe('Renamed Person');

    // Deletes: a film, and a person (whose films are re-indexed without them).
    const victim = catalog.persons[1]!;
    const filmsOfVictim = [...catalog.filmPersons]
      .filter(([, ps]) => ps.some(([p]) => p === victim.id))
      .map(([id]) => id)
      .filter((id) => id !== f0!.id);
    await db.pool.query(`DELETE FROM content.film_work WHERE id = $1`, [f0!.id]);
    await db.pool.query(`DELETE FROM content.person WHERE id = $1`, [victim.id]);
    const after = await runner.once();
    expect(after.deleted.films).toBe(1);
    expect(after.deleted.persons).toBe(1);
    expect(await ids(`${prefix}films`)).not.toContain(f0!.id);
    expect(await ids(`${prefix}films`)).toHaveLength(24);
    expect(await ids(`${prefix}persons`)).not.toContain(victim.id);
    expect(filmsOfVictim.length).toBeGreaterThan(0);
    for (const id of filmsOfVictim) {
      expect((await film(prefix, id)).persons.map((p) => p.id)).not.toContain(victim.id);
    }
  });
});

describe('restart', () => {
  it('resumes after a crash where it stopped, without loss or duplicates', async () => {
    const own = await createTestDatabase('catalog_etl_restart');
    try {
      await StateRepository.migrate(own.pool);
      const prefix = newPrefix();
      const catalog = await seedCatalog(own.pool, {
        films: 30,
        modified: new Date(Date.now() - 60_000).toISOString(),
      });
      const real = new SearchIndex(es, prefix, 'standard');
      await real.ensureIndices();
      // The third bulk write "crashes" the process.
      let calls = 0;
      const crashing: SearchSink = {
        upsert: async (index: IndexName, docs) => {
          if (++calls === 3) throw new Error('killed');
          await real.upsert(index, docs);
        },
        remove: (index, list) => real.remove(index, list),
        refresh: (list) => real.refresh(list),
      };
      const first = makeEtl(own.pool, prefix, { batchSize: 7, sink: crashing });
      await expect(first.runner.once()).rejects.toThrow('killed');
      expect(await ids(`${prefix}films`)).toHaveLength(14);

      // A new process: new pool, new ETL, same durable state.
      const pool = createPool(own.url, { max: 2 });
      try {
        const second = makeEtl(pool, prefix, { batchSize: 7 });
        const result = await second.runner.once();
        expect(result.indexed.films).toBe(30 - 14);
        const indexed = await ids(`${prefix}films`);
        expect(indexed).toEqual(catalog.films.map((f) => f.id).sort());
        const count = await es.count({ index: `${prefix}films` });
        expect(count.count).toBe(30);
      } finally {
        await pool.end();
      }
    } finally {
      await own.drop();
    }
  });
});

describe('outages', () => {
  it('backs off while PostgreSQL and Elasticsearch are down and loads once they are back', async () => {
    const pgUrl = new URL(db.url);
    const esUrl = new URL(process.env.ELASTICSEARCH_URL!);
    const pgProxy = await OutageProxy.create({ host: pgUrl.hostname, port: Number(pgUrl.port) });
    const esProxy = await OutageProxy.create({ host: esUrl.hostname, port: Number(esUrl.port) });
    const viaProxy = new URL(db.url);
    viaProxy.port = String(pgProxy.port);
    const pool = createPool(viaProxy.toString(), { max: 2, connectionTimeoutMillis: 1000 });
    pool.on('error', () => undefined);
    const esClient = new Client({
      node: `http://127.0.0.1:${esProxy.port}`,
      maxRetries: 0,
      requestTimeout: 2000,
    });
    const prefix = newPrefix();
    const registry = new client.Registry();
    const { etl, metrics } = makeEtl(pool, prefix, { esClient, registry });
    const runner = new Runner(
      etl,
      { pollIntervalMs: 100, retryMinMs: 50, retryMaxMs: 400, retries: Infinity },
      logger,
      metrics,
    );
    try {
      const setupAndRun = runner
        .retrying(() => new SearchIndex(esClient, prefix, 'standard').ensureIndices())
        .then(() => runner.start());
      // Both down: attempts fail and are counted.
      await waitFor(
        async () => ((await metrics.failures.get()).values[0]?.value ?? 0) >= 3,
        10_000,
        'failed attempts',
      );
      await esProxy.up();
      await waitFor(
        async () => ((await metrics.failures.get()).values[0]?.value ?? 0) >= 5,
        10_000,
        'failures while PostgreSQL is down',
      );
      await pgProxy.up();
      await setupAndRun;
      // 24 films are left after the edits above; all of them arrive.
      const expected = (await db.pool.query('SELECT count(*)::int AS n FROM content.film_work'))
        .rows[0].n as number;
      await waitFor(
        async () =>
          (await es.count({ index: `${prefix}films` }).catch(() => ({ count: -1 }))).count ===
          expected,
        15_000,
        'films indexed after the outage',
      );
      const text = await registry.metrics();
      expect(text).toMatch(/catalog_etl_pass_failures_total \d+/);
      expect(text).toMatch(/catalog_etl_documents_indexed_total\{index="films"\} \d+/);
    } finally {
      await runner.stop();
      await pgProxy.down();
      await esProxy.down();
      await pool.end();
      await esClient.close();
    }
  });
});
