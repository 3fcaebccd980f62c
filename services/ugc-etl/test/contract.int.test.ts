/**
 * The contract: every operation of the spec, driven with valid and invalid requests (no token,
 * a token without the analyst role, malformed ids) against the app built by buildApp over the
 * loader wired on the stack's Kafka and ClickHouse, answers only what the spec documents.
 */
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTokenVerifier } from '@cinema/auth';
import { createLogger } from '@cinema/logging';
import {
  deleteTopicsWithPrefix,
  describeViolations,
  driveContract,
  serveForContract,
  startTestIssuer,
  suffix,
  type TestIssuer,
} from '@cinema/testing';
import { buildApp } from '../src/app';
import spec from '../src/generated/swagger.json';
import { wireLoader, type Loader } from '../src/wiring';

const run = suffix();
const prefix = `test-contract-${run}.`;
const database = `ugc_etl_contract_${run}`;
const logger = createLogger({ service: 'ugc-etl-test', level: 'silent' });
// chDB: one on-disk path per process; test files of this jest process share it.
const chdbPath = path.join(os.tmpdir(), `cinema-ugc-chdb-${process.pid}`);
let pipeline: Loader;
let issuer: TestIssuer;
let served: Awaited<ReturnType<typeof serveForContract>>;

beforeAll(async () => {
  issuer = await startTestIssuer();
  pipeline = await wireLoader(
    {
      KAFKA_BROKERS: (process.env.KAFKA_BROKERS ?? '').split(','),
      KAFKA_CLIENT_ID: 'ugc-etl-contract',
      KAFKA_GROUP_ID: `ugc-etl-contract-${run}`,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: 1,
      KAFKA_TOPIC_REPLICATION: 1,
      CLICKHOUSE_URL: process.env.CLICKHOUSE_URL,
      CHDB_PATH: chdbPath,
      CLICKHOUSE_DATABASE: database,
      BATCH_MAX_ROWS: 1000,
      BATCH_MAX_WAIT_MS: 100,
    },
    logger,
  );
  await pipeline.start();
  const app = buildApp({
    config: { CORS_ORIGINS: [], BODY_LIMIT: '100kb' },
    logger,
    analytics: pipeline.analytics,
    charts: pipeline.charts,
    verifier: createTokenVerifier({
      jwksUrl: issuer.jwksUrl,
      issuer: issuer.issuer,
      audience: issuer.audience,
    }),
    loader: pipeline,
    readiness: { kafka: () => pipeline.consumer.check() },
  });
  served = await serveForContract(app);
});

afterAll(async () => {
  await served?.close();
  await pipeline?.ch.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await pipeline?.stop();
  await issuer?.close();
  await deleteTopicsWithPrefix(prefix);
});

it('answers every operation as the spec documents', async () => {
  const report = await driveContract({
    spec,
    baseUrl: served.baseUrl,
    token: (roles) => issuer.token(randomUUID(), roles),
    values: { filmId: randomUUID() },
  });
  expect(describeViolations(report.violations)).toBe('');
  expect(report.operations).toBe(Object.values(spec.paths).flatMap((p) => Object.keys(p)).length);
  for (const [operation, statuses] of Object.entries(report.seen))
    expect([operation, statuses.some((s) => s < 300)]).toEqual([operation, true]);
});
