import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createPool, migrate, MigrationError } from '../src';

const pool = createPool(process.env.DATABASE_URL!);
const schema = `mig_${Math.random().toString(36).slice(2, 8)}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));

afterAll(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pool.end();
});

it('applies files once, in order, concurrently safe, and refuses edited ones', async () => {
  fs.writeFileSync(
    path.join(dir, '001_films.sql'),
    `CREATE TABLE ${schema}.films (id int PRIMARY KEY, title text);`,
  );
  fs.writeFileSync(
    path.join(dir, '002_seed.sql'),
    `INSERT INTO ${schema}.films VALUES (1, 'Alien');`,
  );
  fs.writeFileSync(path.join(dir, 'README.txt'), 'not a migration');

  // Two replicas starting at once: the advisory lock makes one wait, and it then skips all.
  const [a, b] = await Promise.all([
    migrate(pool, { dir, schema }),
    migrate(pool, { dir, schema }),
  ]);
  expect([...a.applied, ...b.applied]).toEqual(['001_films.sql', '002_seed.sql']);
  expect((await pool.query(`SELECT title FROM ${schema}.films`)).rows).toEqual([
    { title: 'Alien' },
  ]);

  fs.writeFileSync(path.join(dir, '003_bad.sql'), `INSERT INTO ${schema}.films VALUES (1, 'dup');`);
  await expect(migrate(pool, { dir, schema })).rejects.toThrow(/003_bad.sql failed: duplicate key/);
  const names = (await pool.query(`SELECT name FROM ${schema}.schema_migrations ORDER BY name`))
    .rows;
  expect(names).toEqual([{ name: '001_films.sql' }, { name: '002_seed.sql' }]);

  fs.rmSync(path.join(dir, '003_bad.sql'));
  fs.writeFileSync(
    path.join(dir, '002_seed.sql'),
    `INSERT INTO ${schema}.films VALUES (2, 'edited');`,
  );
  await expect(migrate(pool, { dir, schema })).rejects.toBeInstanceOf(MigrationError);
});
