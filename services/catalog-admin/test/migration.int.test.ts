/**
 * The migration CLI on the real legacy file (999 films, 26 genres, 4,166 persons) into a
 * PostgreSQL database of this file's own, then the movies API over the migrated catalog.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import type { Express } from 'express';
import { migrateSqlite } from '../src/migration/migrate';
import {
  createTestDatabase,
  MOVIES_SQLITE,
  REPO_ROOT,
  startApp,
  startFakeAuth,
  type FakeAuth,
  type TestDatabase,
} from './helpers';

const SERVICE = path.join(REPO_ROOT, 'services', 'catalog-admin');
const CLI = path.join(SERVICE, 'dist', 'cli.js');

function runCli(args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...env }, cwd: REPO_ROOT, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

let db: TestDatabase;
let auth: FakeAuth;
let app: Express;

beforeAll(async () => {
  // `npm test` builds every workspace first; build this one when run on its own.
  if (!fs.existsSync(CLI)) {
    execFileSync('node', [path.join(REPO_ROOT, 'scripts', 'tsoa.mjs'), SERVICE], {
      stdio: 'inherit',
    });
    execFileSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'tsc'), ['-b', SERVICE], {
      stdio: 'inherit',
    });
  }
  db = await createTestDatabase('catalog_admin_mig');
  auth = await startFakeAuth({});
});

afterAll(async () => {
  await auth?.close();
  await db?.drop();
});

const count = async (table: string) =>
  Number((await db.pool.query(`SELECT count(*) AS n FROM content.${table}`)).rows[0].n);

describe('migrate-sqlite on the real legacy file', () => {
  it('copies every table, verifies row by row, and a second run changes nothing', async () => {
    expect(fs.existsSync(MOVIES_SQLITE)).toBe(true);
    const first = await runCli(['migrate-sqlite', MOVIES_SQLITE, '--no-progress'], {
      DATABASE_URL: db.url,
    });
    expect(first.stderr).not.toContain(db.url); // the URL (with its password) is never printed
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('ignored tables: temp_table');
    expect(first.stdout).toMatch(/film_work\s+999 rows: 999 inserted, 0 updated, 0 unchanged/);
    expect(first.stdout).toMatch(/OK\s+person\s+SQLite 4166, PostgreSQL 4166: 4166 equal/);
    expect(first.stdout).toContain('EQUAL: verification passed');
    expect(await count('film_work')).toBe(999);
    expect(await count('genre')).toBe(26);
    expect(await count('person')).toBe(4166);
    expect(await count('genre_film_work')).toBe(2231);
    expect(await count('person_film_work')).toBe(5783);
    // The CLI ANALYZEs what it loaded: the planner has statistics right away (last_analyze is
    // only set by an explicit ANALYZE, never by autovacuum).
    expect(first.stdout).toContain(
      'analyzed: genre, person, film_work, genre_film_work, person_film_work',
    );
    const stats = await db.pool.query<{ relname: string; analyzed: boolean; reltuples: number }>(
      `SELECT s.relname, s.last_analyze IS NOT NULL AS analyzed, c.reltuples
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
        WHERE s.schemaname = 'content'
          AND s.relname IN ('film_work', 'genre', 'person', 'genre_film_work', 'person_film_work')
        ORDER BY s.relname`,
    );
    expect(stats.rows).toEqual([
      { relname: 'film_work', analyzed: true, reltuples: 999 },
      { relname: 'genre', analyzed: true, reltuples: 26 },
      { relname: 'genre_film_work', analyzed: true, reltuples: 2231 },
      { relname: 'person', analyzed: true, reltuples: 4166 },
      { relname: 'person_film_work', analyzed: true, reltuples: 5783 },
    ]);
    // Legacy timestamps are kept: created is the SQLite created_at to the microsecond.
    const { rows } = await db.pool.query(
      `SELECT to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS c, rating
         FROM content.film_work WHERE id = '3d825f60-9fff-4dfe-b294-1a45fa1e115d'`,
    );
    expect(rows[0]).toEqual({ c: '2021-06-16 20:14:09.221838', rating: 8.6 });

    const before = await db.pool.query(
      `SELECT max(modified) AS m, (SELECT max(seq) FROM content.tombstone) AS t FROM content.film_work`,
    );
    const second = await runCli(['migrate-sqlite', MOVIES_SQLITE, '--no-progress'], {
      DATABASE_URL: db.url,
    });
    expect(second.code).toBe(0);
    for (const [table, n] of [
      ['genre', 26],
      ['person', 4166],
      ['film_work', 999],
      ['genre_film_work', 2231],
      ['person_film_work', 5783],
    ] as const) {
      expect(second.stdout).toMatch(
        new RegExp(`${table}\\s+${n} rows: 0 inserted, 0 updated, ${n} unchanged, 0 bad`),
      );
    }
    const after = await db.pool.query(
      `SELECT max(modified) AS m, (SELECT max(seq) FROM content.tombstone) AS t FROM content.film_work`,
    );
    expect(after.rows).toEqual(before.rows); // nothing was written
  });

  it('verification fails on any difference, and a new run repairs it', async () => {
    const film = '0312ed51-8833-413f-bff5-0e139c11264a';
    await db.pool.query(`UPDATE content.film_work SET title = 'Tampered' WHERE id = $1`, [film]);
    await db.pool.query(
      `DELETE FROM content.person_film_work WHERE id = (SELECT id FROM content.person_film_work ORDER BY id LIMIT 1)`,
    );
    await db.pool.query(
      `INSERT INTO content.genre (id, name) VALUES ('00000000-0000-4000-8000-000000000001', 'Extra')`,
    );
    const check = await runCli(
      ['migrate-sqlite', MOVIES_SQLITE, '--verify-only', '--no-progress'],
      {
        DATABASE_URL: db.url,
      },
    );
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/DIFF film_work .* 998 equal, 0 missing, 1 different/);
    expect(check.stdout).toContain(
      `film_work ${film}: title: SQLite "Episode V - The Empire Strikes Back"`.replace(
        'Episode',
        'Star Wars: Episode',
      ),
    );
    expect(check.stdout).toMatch(/DIFF person_film_work .* 1 missing/);
    expect(check.stdout).toMatch(/DIFF genre .* 1 extra/);
    expect(check.stdout).toContain('DIFFERENT: verification failed');

    await db.pool.query(`DELETE FROM content.genre WHERE name = 'Extra'`);
    const report = await migrateSqlite(MOVIES_SQLITE, db.pool, { batchSize: 1000 });
    expect(report.copy.find((c) => c.table === 'film_work')).toMatchObject({ updated: 1 });
    expect(report.copy.find((c) => c.table === 'person_film_work')).toMatchObject({
      inserted: 1,
    });
    expect(report.equal).toBe(true);
    // The repaired film moved `modified` (the ETL picks the change up).
    const { rows } = await db.pool.query(
      `SELECT title, modified > now() - interval '1 minute' AS recent FROM content.film_work WHERE id = $1`,
      [film],
    );
    expect(rows[0]).toEqual({
      title: 'Star Wars: Episode V - The Empire Strikes Back',
      recent: true,
    });
  });

  it('refuses bad usage and unreadable sources with exit code 2', async () => {
    const notSqlite = path.join(os.tmpdir(), `not-sqlite-${process.pid}.txt`);
    fs.writeFileSync(notSqlite, 'hello');
    const results = await Promise.all([
      runCli(['migrate-sqlite'], { DATABASE_URL: db.url }),
      runCli(['migrate-sqlite', '/nonexistent.sqlite'], { DATABASE_URL: db.url }),
      runCli(['migrate-sqlite', notSqlite], { DATABASE_URL: db.url }),
      runCli(['migrate-sqlite', MOVIES_SQLITE, '--batch-size', '0'], { DATABASE_URL: db.url }),
      runCli(['migrate-sqlite', MOVIES_SQLITE], { DATABASE_URL: 'not a url' }),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2, 2]);
    expect(results[2]!.stderr).toContain('is not an SQLite database');
    expect(results[4]!.stderr).toContain('DATABASE_URL');
  });
});

describe('/api/v1/movies over the migrated catalog', () => {
  beforeAll(async () => {
    ({ app } = await startApp(db, auth));
  });

  it('lists films a page at a time with genres and persons by role', async () => {
    const res = await request(app).get('/api/v1/movies?page=2&page_size=20').expect(200);
    expect(res.body).toMatchObject({
      count: 999,
      total_pages: 50,
      page: 2,
      page_size: 20,
      prev: 1,
      next: 3,
    });
    expect(res.body.results).toHaveLength(20);
    const last = await request(app).get('/api/v1/movies?page=50&page_size=20').expect(200);
    expect(last.body.results).toHaveLength(19);
    expect(last.body.next).toBeNull();
    const all = await request(app).get('/api/v1/movies?page_size=100').expect(200);
    expect(all.body.results[0]).toEqual(
      expect.objectContaining({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        genres: expect.any(Array),
        actors: expect.any(Array),
        directors: expect.any(Array),
        writers: expect.any(Array),
      }),
    );
  });

  it('answers a film with its genres and persons by role', async () => {
    const res = await request(app)
      .get('/api/v1/movies/3d825f60-9fff-4dfe-b294-1a45fa1e115d')
      .expect(200);
    expect(res.body.title).toBe('Star Wars: Episode IV - A New Hope');
    expect(res.body.rating).toBe(8.6);
    expect(res.body.directors.map((p: { full_name: string }) => p.full_name)).toEqual([
      'George Lucas',
    ]);
    expect(res.body.actors.map((p: { full_name: string }) => p.full_name)).toContain('Mark Hamill');
    expect(res.body.genres.map((g: { name: string }) => g.name)).toEqual(
      expect.arrayContaining(['Action', 'Adventure']),
    );
    // Matches the SQLite link rows exactly.
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n FROM content.person_film_work
        WHERE film_work_id = '3d825f60-9fff-4dfe-b294-1a45fa1e115d' AND role = 'writer'`,
    );
    expect(res.body.writers).toHaveLength(rows[0].n);
  });

  it('answers bad input with 4xx problem+json, never 500', async () => {
    const cases: Array<[string, number]> = [
      ['/api/v1/movies?page_size=1000000', 422],
      ['/api/v1/movies?page_size=0', 422],
      ['/api/v1/movies?page=abc', 422],
      ['/api/v1/movies?page=1.5', 422],
      ['/api/v1/movies?page=100000', 422],
      ['/api/v1/movies/not-a-uuid', 422],
      [`/api/v1/movies/${'x'.repeat(10_000)}`, 422],
      ['/api/v1/movies/00000000-0000-4000-8000-000000000000', 404],
    ];
    for (const [url, status] of cases) {
      const res = await request(app).get(url);
      expect({ url, status: res.status }).toEqual({ url, status });
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body.status).toBe(status);
    }
    const beyond = await request(app).get('/api/v1/movies?page=9999&page_size=100').expect(200);
    expect(beyond.body.results).toEqual([]);
  });

  it('documents the API with Swagger UI', async () => {
    const spec = await request(app).get('/openapi.json').expect(200);
    expect(Object.keys(spec.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/movies', '/api/v1/movies/{id}']),
    );
    const docs = await request(app).get('/docs/').expect(200);
    expect(docs.text).toContain('swagger-ui');
  });
});
