/**
 * The real legacy catalog: ../shared/data/movies.sqlite moved into PostgreSQL by catalog-admin's
 * migration CLI (run as its own process: another service's code is not imported), then loaded by
 * the ETL; every row of PostgreSQL is in Elasticsearch.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import * as client from 'prom-client';
import { createLogger } from '@cinema/logging';
import { runProcess, suffix, TSX } from '@cinema/testing';
import { ContentRepository } from '../src/adapters/content.repository';
import { EtlMetrics } from '../src/adapters/etl.metrics';
import { SearchIndex } from '../src/adapters/search.index';
import { StateRepository } from '../src/adapters/state.repository';
import { Etl } from '../src/domain/etl';
import type { FilmDoc } from '../src/domain/documents';
import { Runner } from '../src/domain/runner';
import { createTestDatabase, type TestDatabase } from './helpers';

const MOVIES = path.resolve(__dirname, '../../../../shared/data/movies.sqlite');
const CATALOG_ADMIN = path.resolve(__dirname, '../../catalog-admin');
const es = new Client({ node: process.env.ELASTICSEARCH_URL! });
const prefix = `etlmovies_${suffix()}_`;
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('catalog_etl_movies');
  await StateRepository.migrate(db.pool);
});

afterAll(async () => {
  await es.indices.delete({
    index: ['films', 'genres', 'persons'].map((i) => `${prefix}${i}`),
    ignore_unavailable: true,
  });
  await es.close();
  await db?.drop();
});

(fs.existsSync(MOVIES) ? it : it.skip)(
  'loads the migrated legacy catalog completely',
  async () => {
    // Exit 0: the copy is complete and equal to the source (1: differences, 2/3: failures).
    const migration = runProcess(TSX, ['src/cli.ts', 'migrate-sqlite', MOVIES, '--no-progress'], {
      cwd: CATALOG_ADMIN,
      env: { DATABASE_URL: db.url },
    });
    const code = await migration.exited;
    if (code !== 0) process.stderr.write(migration.output());
    expect(code).toBe(0);
    const sink = new SearchIndex(es, prefix, 'standard');
    await sink.ensureIndices();
    const metrics = new EtlMetrics(new client.Registry());
    const etl = new Etl({
      source: new ContentRepository(db.pool, 0),
      state: new StateRepository(db.pool, prefix),
      sink,
      observer: metrics,
      batchSize: 500,
    });
    const runner = new Runner(
      etl,
      { pollIntervalMs: 1000, retryMinMs: 100, retryMaxMs: 1000, retries: 2 },
      createLogger({ service: 'test', level: 'silent' }),
      metrics,
    );
    const started = Date.now();
    const result = await runner.once();
    const ms = Date.now() - started;
    const counts = (
      await db.pool.query<{ films: number; genres: number; persons: number }>(
        `SELECT (SELECT count(*)::int FROM content.film_work) AS films,
                (SELECT count(*)::int FROM content.genre) AS genres,
                (SELECT count(*)::int FROM content.person) AS persons`,
      )
    ).rows[0]!;
    expect(counts.films).toBe(999);
    for (const index of ['films', 'genres', 'persons'] as const) {
      expect((await es.count({ index: `${prefix}${index}` })).count).toBe(counts[index]);
    }
    // Each film is written once on an initial load (no fan-out of unchanged genres/persons).
    expect(result.indexed).toEqual(counts);

    // A film's document agrees with its rows.
    const { rows } = await db.pool.query<{ id: string; title: string; n: number }>(
      `SELECT f.id, f.title, count(pfw.id)::int AS n FROM content.film_work f
         JOIN content.person_film_work pfw ON pfw.film_work_id = f.id
        GROUP BY f.id ORDER BY n DESC, f.id LIMIT 1`,
    );
    const doc = (await es.get<FilmDoc>({ index: `${prefix}films`, id: rows[0]!.id }))._source!;
    expect(doc.title).toBe(rows[0]!.title);
    expect(doc.persons).toHaveLength(rows[0]!.n);
    process.stdout.write(`ETL of the legacy catalog (999 films): ${ms} ms\n`);
  },
  120_000,
);
