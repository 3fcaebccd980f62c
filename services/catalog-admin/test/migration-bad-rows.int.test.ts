/**
 * The migration on a small generated SQLite file with bad rows of every kind: each is reported
 * with its reason and skipped, the good rows are copied, the verification fails (the copy is not
 * complete) and a second run writes nothing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import initSqlJs from 'sql.js';
import { migrateSqlite } from '../src/migration/migrate';
import { migrateContent } from '../src/schema';
import { createTestDatabase, type TestDatabase } from './helpers';

const G1 = '11111111-1111-4111-8111-111111111111';
const G2 = '22222222-2222-4222-8222-222222222222';
const GDUP = '33333333-3333-4333-8333-333333333333';
const P1 = '44444444-4444-4444-8444-444444444444';
const PBAD = '55555555-5555-4555-8555-555555555555';
const F1 = '66666666-6666-4666-8666-666666666666';
const F2 = '77777777-7777-4777-8777-777777777777';
const FRATING = '88888888-8888-4888-8888-888888888888';
const FTYPE = '99999999-9999-4999-8999-999999999999';
const FNOTITLE = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const FTS = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const MISSING = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
const TS = '2021-06-16 20:14:09.221838+00';

let db: TestDatabase;
let file: string;

beforeAll(async () => {
  db = await createTestDatabase('catalog_admin_bad');
  await migrateContent(db.pool);
  const SQL = await initSqlJs();
  const s = new SQL.Database();
  s.run(`
    CREATE TABLE genre (id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT, created_at timestamp, updated_at timestamp);
    CREATE TABLE film_work (id TEXT PRIMARY KEY, title TEXT, description TEXT, creation_date DATE, certificate TEXT,
      file_path TEXT, rating FLOAT, type TEXT, created_at timestamp, updated_at timestamp);
    CREATE TABLE person (id TEXT PRIMARY KEY, full_name TEXT NOT NULL, birth_date DATE, created_at timestamp, updated_at timestamp);
    CREATE TABLE genre_film_work (id TEXT PRIMARY KEY, film_work_id TEXT NOT NULL, genre_id TEXT NOT NULL, created_at timestamp);
    CREATE TABLE person_film_work (id TEXT PRIMARY KEY, film_work_id TEXT NOT NULL, person_id TEXT NOT NULL, role TEXT NOT NULL, created_at timestamp);
    CREATE TABLE django_migrations (id INTEGER PRIMARY KEY, app TEXT);
  `);
  const ins = (sql: string, rows: unknown[][]) => rows.forEach((r) => s.run(sql, r as never));
  ins(`INSERT INTO genre VALUES (?, ?, ?, ?, ?)`, [
    [G1, 'Drama', null, TS, TS],
    [G2, 'Comedy', 'Funny', null, null], // absent timestamps: PostgreSQL fills them in
    [GDUP, 'Drama', null, TS, TS], // same name as G1: refused by the unique constraint
  ]);
  ins(`INSERT INTO person VALUES (?, ?, ?, ?, ?)`, [
    [P1, 'Ada Lovelace', '1815-12-10', TS, TS],
    [PBAD, 'Bad Date', '1990-02-30', TS, TS],
    ['not-a-uuid', 'Nobody', null, TS, TS],
  ]);
  ins(`INSERT INTO film_work VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    [F1, 'Good film', 'ok', '2001-01-01', null, null, 7.5, 'movie', TS, TS],
    [F2, 'Good show', null, null, null, null, null, 'tv_show', '2020-01-01T10:00:00Z', TS],
    [FRATING, 'Too good', null, null, null, null, 11, 'movie', TS, TS],
    [FTYPE, 'Wrong type', null, null, null, null, 5, 'film', TS, TS],
    [FNOTITLE, null, null, null, null, null, 5, 'movie', TS, TS],
    [FTS, 'Bad time', null, null, null, null, 5, 'movie', 'yesterday', TS],
  ]);
  ins(`INSERT INTO genre_film_work VALUES (?, ?, ?, ?)`, [
    ['d0000000-0000-4000-8000-000000000001', F1, G1, TS],
    ['d0000000-0000-4000-8000-000000000002', F2, G2, TS],
    ['d0000000-0000-4000-8000-000000000003', MISSING, G1, TS], // film not there
    ['d0000000-0000-4000-8000-000000000004', FRATING, G1, TS], // film was bad
  ]);
  ins(`INSERT INTO person_film_work VALUES (?, ?, ?, ?, ?)`, [
    ['e0000000-0000-4000-8000-000000000001', F1, P1, 'writer', TS],
    ['e0000000-0000-4000-8000-000000000002', F1, P1, 'producer', TS], // unknown role
    ['e0000000-0000-4000-8000-000000000003', F2, PBAD, 'actor', TS], // person was bad
  ]);
  file = path.join(os.tmpdir(), `catalog-bad-${process.pid}-${Date.now()}.sqlite`);
  fs.writeFileSync(file, Buffer.from(s.export()));
  s.close();
});

afterAll(async () => {
  if (file) fs.rmSync(file, { force: true });
  await db?.drop();
});

it('reports and skips bad rows with the reason, copies the rest, and fails verification', async () => {
  const report = await migrateSqlite(file, db.pool, { batchSize: 2 });
  expect(report.ignoredTables).toEqual(['django_migrations']);
  const reasons = Object.fromEntries(report.badRows.map((b) => [`${b.table} ${b.id}`, b.reason]));
  expect(reasons).toEqual({
    [`genre ${GDUP}`]: expect.stringMatching(/duplicate key value.*genre_name_key/),
    [`person ${PBAD}`]: 'birth_date "1990-02-30" is not a date',
    'person not-a-uuid': 'id "not-a-uuid" is not a UUID',
    [`film_work ${FRATING}`]: 'rating 11 is outside 0..10',
    [`film_work ${FTYPE}`]: 'type "film" is not one of movie, tv_show',
    [`film_work ${FNOTITLE}`]: 'title is missing',
    [`film_work ${FTS}`]: 'created_at "yesterday" is not a timestamp',
    'genre_film_work d0000000-0000-4000-8000-000000000003':
      expect.stringMatching(/foreign key.*film_work_id/),
    'genre_film_work d0000000-0000-4000-8000-000000000004':
      expect.stringMatching(/foreign key.*film_work_id/),
    'person_film_work e0000000-0000-4000-8000-000000000002':
      'role "producer" is not one of actor, director, writer',
    'person_film_work e0000000-0000-4000-8000-000000000003':
      expect.stringMatching(/foreign key.*person_id/),
  });
  expect(report.copy).toEqual([
    { table: 'genre', source: 3, inserted: 2, updated: 0, unchanged: 0, bad: 1 },
    { table: 'person', source: 3, inserted: 1, updated: 0, unchanged: 0, bad: 2 },
    { table: 'film_work', source: 6, inserted: 2, updated: 0, unchanged: 0, bad: 4 },
    { table: 'genre_film_work', source: 4, inserted: 2, updated: 0, unchanged: 0, bad: 2 },
    { table: 'person_film_work', source: 3, inserted: 1, updated: 0, unchanged: 0, bad: 2 },
  ]);
  expect(report.equal).toBe(false);
  const film = report.verification.find((v) => v.table === 'film_work')!;
  expect(film).toMatchObject({ sourceRows: 6, targetRows: 2, equal: 2, missing: 4, extra: 0 });
  expect(film.samples).toContain(`film_work ${FRATING}: not copied (rating 11 is outside 0..10)`);
  const genre = report.verification.find((v) => v.table === 'genre')!;
  expect(genre).toMatchObject({ equal: 2, different: 0, missing: 1 });
  expect(genre.samples).toContain(`genre ${GDUP}: missing in PostgreSQL`);

  const { rows } = await db.pool.query(
    `SELECT f.title, f.rating, f.creation_date::text AS d,
            to_char(f.created AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS created,
            array(SELECT g.name FROM content.genre_film_work x JOIN content.genre g ON g.id = x.genre_id
                   WHERE x.film_work_id = f.id) AS genres
       FROM content.film_work f ORDER BY f.title`,
  );
  expect(rows).toEqual([
    {
      title: 'Good film',
      rating: 7.5,
      d: '2001-01-01',
      created: '2021-06-16 20:14:09',
      genres: ['Drama'],
    },
    {
      title: 'Good show',
      rating: null,
      d: null,
      created: '2020-01-01 10:00:00',
      genres: ['Comedy'],
    },
  ]);

  const again = await migrateSqlite(file, db.pool, { batchSize: 500 });
  expect(again.copy.map((c) => [c.inserted, c.updated])).toEqual([
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
  ]);
  expect(again.badRows).toHaveLength(report.badRows.length);
});
