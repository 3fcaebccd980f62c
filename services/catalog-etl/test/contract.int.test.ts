/**
 * The contract: the running service (its own process, continuous mode) answers every operation
 * of its spec as documented.
 */
import * as path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import {
  describeViolations,
  driveContract,
  freePort,
  runServiceMain,
  suffix,
  waitFor,
} from '@cinema/testing';
import spec from '../src/generated/swagger.json';
import { createTestDatabase, seedCatalog, type TestDatabase } from './helpers';

const es = new Client({ node: process.env.ELASTICSEARCH_URL! });
const prefix = `etlcontract_${suffix()}_`;
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('catalog_etl_contract');
  await seedCatalog(db.pool, { films: 3, genres: 1, persons: 2 });
});

afterAll(async () => {
  await es.indices.delete({
    index: ['films', 'genres', 'persons'].map((i) => `${prefix}${i}`),
    ignore_unavailable: true,
  });
  await es.close();
  await db?.drop();
});

it('answers every operation as the spec documents', async () => {
  const port = await freePort();
  const live = runServiceMain(
    path.resolve(__dirname, '..'),
    {
      LOG_LEVEL: 'warn',
      DATABASE_URL: db.url,
      ELASTICSEARCH_URL: process.env.ELASTICSEARCH_URL!,
      ES_INDEX_PREFIX: prefix,
      ETL_SETTLE_MS: '0',
      PORT: String(port),
    },
    [],
  );
  try {
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${baseUrl}/readyz`)).ok, 30_000, 'readyz');
    const served = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as object;
    expect(served).toEqual(spec);
    const report = await driveContract({ spec, baseUrl });
    expect(describeViolations(report.violations)).toBe('');
    expect(report.seen).toEqual({ 'GET /api/v1/etl/status': [200] });
    live.child.kill('SIGTERM');
    expect(await live.exited).toBe(0);
  } finally {
    if (live.child.exitCode === null) live.child.kill('SIGKILL');
  }
});
