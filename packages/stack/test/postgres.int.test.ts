import { Client } from 'pg';

describe('postgres (local stack)', () => {
  const client = new Client({ connectionString: process.env.DATABASE_URL });

  beforeAll(() => client.connect());
  afterAll(() => client.end());

  it('creates a table, inserts and selects rows', async () => {
    const table = `stack_test_${process.pid}_${Date.now()}`;
    await client.query(
      `CREATE TABLE ${table} (id serial PRIMARY KEY, title text NOT NULL, year int)`,
    );
    try {
      await client.query(`INSERT INTO ${table} (title, year) VALUES ($1, $2), ($3, $4)`, [
        'Metropolis',
        1927,
        'Stalker',
        1979,
      ]);
      const { rows } = await client.query(`SELECT title, year FROM ${table} ORDER BY year`);
      expect(rows).toEqual([
        { title: 'Metropolis', year: 1927 },
        { title: 'Stalker', year: 1979 },
      ]);
    } finally {
      await client.query(`DROP TABLE ${table}`);
    }
  });

  it('reports its version', async () => {
    const { rows } = await client.query<{ version: string }>('SELECT version()');
    expect(rows[0]?.version).toMatch(/^PostgreSQL \d+/);
  });
});
