/**
 * The real entry point in its own process: CronJob mode (`--once`) loads and exits 0, continuous
 * mode serves /healthz, /readyz, /metrics, the last pass's status and its spec (/openapi.json, /docs) and stops cleanly on SIGTERM, bad configuration
 * exits 78 naming the variables.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { freePort, runServiceMain, suffix, waitFor } from '@cinema/testing';
import { createTestDatabase, seedCatalog, type TestDatabase } from './helpers';

const ROOT = path.resolve(__dirname, '..');
const es = new Client({ node: process.env.ELASTICSEARCH_URL! });
const prefix = `etlmain_${suffix()}_`;
let db: TestDatabase;

const runMain = (args: string[], env: Record<string, string>) =>
  runServiceMain(ROOT, { LOG_LEVEL: 'warn', ...env }, args);

beforeAll(async () => {
  db = await createTestDatabase('catalog_etl_main');
  await seedCatalog(db.pool, { films: 12, genres: 2, persons: 4 });
});

afterAll(async () => {
  await es.indices.delete({
    index: ['films', 'genres', 'persons'].map((i) => `${prefix}${i}`),
    ignore_unavailable: true,
  });
  await es.close();
  await db?.drop();
});

it('refuses bad configuration with exit code 78 and every bad variable', async () => {
  const run = runMain(['--once'], { DATABASE_URL: 'not a url', ETL_BATCH_SIZE: '0' });
  expect(await run.exited).toBe(78);
  expect(run.output()).toMatch(/DATABASE_URL/);
  expect(run.output()).toMatch(/ELASTICSEARCH_URL/);
  expect(run.output()).toMatch(/ETL_BATCH_SIZE/);
});

it('runs once as a CronJob, then continuously with health and metrics', async () => {
  const env = {
    DATABASE_URL: db.url,
    ELASTICSEARCH_URL: process.env.ELASTICSEARCH_URL!,
    ES_INDEX_PREFIX: prefix,
    ETL_SETTLE_MS: '0',
  };
  const once = runMain(['--once'], env);
  expect(await once.exited).toBe(0);
  expect((await es.count({ index: `${prefix}films` })).count).toBe(12);
  // ETL_ONCE=true is the same mode; it serves no port (the one it would take is busy here).
  const busy = await freePort();
  const blocker = net.createServer().listen(busy, '127.0.0.1');
  try {
    const again = runMain([], { ...env, ETL_ONCE: 'true', PORT: String(busy) });
    expect(await again.exited).toBe(0);
  } finally {
    blocker.close();
  }

  const port = await freePort();
  const live = runMain([], { ...env, PORT: String(port), ETL_POLL_INTERVAL_MS: '200' });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok, 30_000, 'readyz');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await db.pool.query(`UPDATE content.film_work SET title = 'Polled' WHERE id =
      (SELECT id FROM content.film_work ORDER BY id LIMIT 1)`);
    await waitFor(
      async () => {
        const metrics = await (await fetch(`${base}/metrics`)).text();
        return /catalog_etl_documents_indexed_total\{index="films"\} 1\b/.test(metrics);
      },
      15_000,
      'the edit indexed by the running service',
    );
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/catalog_etl_lag_seconds \d/);
    // The last pass, and the spec and Swagger UI like every service's.
    type Status = { state: string; passes: number; lastPass?: { indexed: object } };
    const status = async () => {
      const res = await fetch(`${base}/api/v1/etl/status`);
      expect(res.status).toBe(200);
      return (await res.json()) as Status;
    };
    expect(await status()).toMatchObject({ state: 'running' });
    // The pass that indexed the edit may still be publishing (refresh, cache) when its metric shows.
    await waitFor(async () => (await status()).passes > 0, 15_000, 'a finished pass in the status');
    expect((await status()).lastPass).toMatchObject({
      indexed: expect.any(Object),
      finishedAt: expect.any(String),
    });
    const spec = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: object };
    expect(Object.keys(spec.paths)).toContain('/api/v1/etl/status');
    expect((await fetch(`${base}/docs/`)).status).toBe(200);
    live.child.kill('SIGTERM');
    expect(await live.exited).toBe(0);
  } finally {
    if (live.child.exitCode === null) live.child.kill('SIGKILL');
  }
});
