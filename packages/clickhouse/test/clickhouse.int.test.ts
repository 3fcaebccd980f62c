/**
 * The ClickHouse factory on the embedded engine (chDB): DDL through `command`, JSONEachRow
 * inserts, `{p:Type}` query parameters, and `close()` releasing the data folder.
 * chDB holds one data folder per process, so this file keeps to one path and closes each client.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createClickHouse } from '@cinema/clickhouse';

describe('createClickHouse on chDB', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cinema-chdb-'));
  const savedUrl = process.env.CLICKHOUSE_URL;

  beforeAll(() => {
    // Force the embedded engine even when the stack exports a ClickHouse server.
    delete process.env.CLICKHOUSE_URL;
  });
  afterAll(() => {
    if (savedUrl !== undefined) process.env.CLICKHOUSE_URL = savedUrl;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const rows = [
    {
      id: 1,
      title: 'Metropolis',
      genre: 'sci-fi',
      watched_at: '2024-03-01 20:00:00',
      seconds: 7200,
    },
    {
      id: 2,
      title: "L'Atalante",
      genre: 'drama',
      watched_at: '2024-03-02 21:30:00',
      seconds: 5340,
    },
    { id: 3, title: 'Alien', genre: 'sci-fi', watched_at: '2024-03-03 22:15:00', seconds: 7020 },
  ];

  it('creates, inserts, queries with parameters, and releases the path on close', async () => {
    const client = createClickHouse({ path: dir });
    expect((await client.ping()).success).toBe(true);
    await client.command({ query: 'CREATE DATABASE IF NOT EXISTS analytics' });
    await client.command({
      query: `CREATE TABLE analytics.views (
                id UInt32, title String, genre LowCardinality(String),
                watched_at DateTime, seconds UInt32
              ) ENGINE = MergeTree ORDER BY (genre, id)`,
    });
    await client.insert({ table: 'analytics.views', values: rows, format: 'JSONEachRow' });

    const result = await client.query({
      query: `SELECT id, title, genre, watched_at, seconds FROM analytics.views
              WHERE genre = {genre:String} AND seconds >= {min:UInt32} ORDER BY id`,
      query_params: { genre: 'sci-fi', min: 7000 },
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([rows[0], rows[2]]);

    const quoted = await client.query({
      query: 'SELECT id FROM analytics.views WHERE title = {t:String}',
      query_params: { t: "L'Atalante" },
      format: 'JSONEachRow',
    });
    expect(await quoted.json()).toEqual([{ id: 2 }]);

    await client.close();

    // The path is free again: a new client opens it and sees the persisted rows.
    const again = createClickHouse({ path: dir });
    try {
      const total = await again.query({
        query: 'SELECT count() AS n, sum(seconds) AS s FROM analytics.views',
        format: 'JSONEachRow',
      });
      // 64-bit integers come back as strings in JSON, as from a ClickHouse server.
      expect(await total.json()).toEqual([{ n: '3', s: '19560' }]);
    } finally {
      await again.close();
    }
  });
});
