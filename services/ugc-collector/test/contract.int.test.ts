/**
 * The contract: every operation of the spec, driven with valid and invalid requests against the
 * app built by buildApp over the stack's Kafka, answers only what the spec documents.
 */
import { randomUUID } from 'node:crypto';
import { createLogger } from '@cinema/logging';
import {
  deleteTestTopics,
  describeViolations,
  driveContract,
  serveForContract,
} from '@cinema/testing';
import { EventProducer } from '../src/adapters/events.producer';
import { buildApp } from '../src/app';
import { topicNames } from '../src/domain/events';
import { EventIntake } from '../src/domain/intake';
import spec from '../src/generated/swagger.json';

const topics = topicNames(`test-contract-${randomUUID().slice(0, 8)}.`);
const logger = createLogger({ service: 'ugc-collector-test', level: 'silent' });
let producer: EventProducer;
let served: Awaited<ReturnType<typeof serveForContract>>;

beforeAll(async () => {
  producer = new EventProducer({
    brokers: (process.env.KAFKA_BROKERS ?? '').split(','),
    clientId: 'collector-contract-test',
    logger,
    topics: Object.values(topics),
    partitions: 1,
    replicationFactor: 1,
    ackTimeoutMs: 5_000,
    maxPending: 1_000,
  });
  await producer.start();
  const app = buildApp({
    config: { CORS_ORIGINS: [], BODY_LIMIT: '100kb', BATCH_MAX_EVENTS: 10 },
    logger,
    intake: new EventIntake({ sink: producer, topics }),
    readiness: {},
  });
  served = await serveForContract(app);
});

afterAll(async () => {
  await served?.close();
  await producer?.close();
  await deleteTestTopics(Object.values(topics));
});

it('answers every operation as the spec documents', async () => {
  const report = await driveContract({
    spec,
    baseUrl: served.baseUrl,
    values: { 'X-Anonymous-Id': 'anon-contract-test' },
  });
  expect(describeViolations(report.violations)).toBe('');
  expect(report.operations).toBe(Object.values(spec.paths).flatMap((p) => Object.keys(p)).length);
  for (const [operation, statuses] of Object.entries(report.seen))
    expect([operation, statuses.some((s) => s < 300)]).toEqual([operation, true]);
});
