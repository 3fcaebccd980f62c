/**
 * The real entry point in its own process: `runService` wires the loader, listens, starts the
 * consumer after listen (readiness turns green once it joined its group and ClickHouse answers),
 * and on SIGTERM drains and exits 0; without a JWKS the read API answers 401; bad configuration
 * exits 78 naming the variables.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deleteTopicsWithPrefix, freePort, runServiceMain, suffix, waitFor } from '@cinema/testing';

const ROOT = path.resolve(__dirname, '..');
const run = suffix();
const prefix = `test-main-${run}.`;
const chdb = fs.mkdtempSync(path.join(os.tmpdir(), 'ugc-etl-main-'));

afterAll(async () => {
  fs.rmSync(chdb, { recursive: true, force: true });
  await deleteTopicsWithPrefix(prefix);
});

it('refuses bad configuration with exit code 78 and every bad variable', async () => {
  const bad = runServiceMain(ROOT, { KAFKA_BROKERS: '', BATCH_MAX_ROWS: '0' });
  expect(await bad.exited).toBe(78);
  expect(bad.output()).toMatch(/KAFKA_BROKERS/);
  expect(bad.output()).toMatch(/BATCH_MAX_ROWS/);
});

it('listens, joins its group, and stops cleanly on SIGTERM', async () => {
  const port = await freePort();
  const service = runServiceMain(ROOT, {
    PORT: String(port),
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: process.env.KAFKA_BROKERS,
    KAFKA_GROUP_ID: `ugc-etl-main-${run}`,
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_TOPIC_PARTITIONS: '1',
    CLICKHOUSE_URL: process.env.CLICKHOUSE_URL,
    CHDB_PATH: chdb,
    CLICKHOUSE_DATABASE: `ugc_etl_main_${run}`,
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok, 60_000, 'readyz').catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${service.output()}`);
      },
    );
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const film = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
    const noJwks = await fetch(`${base}/api/v1/analytics/films/${film}/pause-heatmap`, {
      headers: { authorization: 'Bearer a.b.c' },
    });
    expect(noJwks.status).toBe(401);
    expect(await service.stop('SIGTERM')).toBe(0);
  } finally {
    await service.stop('SIGKILL');
  }
}, 90_000);
