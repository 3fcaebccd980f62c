/**
 * The producer pool against the stack's Kafka: several idempotent producers in flight, yet every
 * user's events keep their order in their partition, requests mixing users are answered once all
 * their parts are acknowledged, and nothing is lost or written twice.
 */
import { randomUUID } from 'node:crypto';
import { createLogger } from '@cinema/logging';
import { EventProducer } from '../src/adapters/events.producer';
import type { EventRecord } from '../src/domain/events';
import { readRecords } from './kafka-reader';
import { deleteTestTopics } from '@cinema/testing';

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const topic = `test-pool-${randomUUID().slice(0, 8)}.events`;
const logger = createLogger({ service: 'ugc-collector-test', level: 'silent' });

describe('EventProducer pool', () => {
  let producer: EventProducer;

  beforeAll(async () => {
    producer = new EventProducer({
      brokers,
      clientId: 'collector-pool-test',
      logger,
      topics: [topic],
      partitions: 3,
      replicationFactor: 1,
      ackTimeoutMs: 10_000,
      maxPending: 100_000,
      producers: 3,
      // Small produce requests: many sends, several in flight at once.
      maxBatchEvents: 7,
    });
    await producer.start();
    await producer.check();
  });
  afterAll(async () => {
    await producer.close();
    await deleteTestTopics([topic]);
  });

  it('keeps each user in order across producers, with mixed-user requests', async () => {
    const users = Array.from({ length: 12 }, (_, i) => `user-${i}-${randomUUID().slice(0, 4)}`);
    const next = new Map(users.map((u) => [u, 0]));
    const record = (user: string): EventRecord => {
      const seq = next.get(user)!;
      next.set(user, seq + 1);
      return { topic, key: user, value: JSON.stringify({ user, seq }) };
    };
    // 60 concurrent requests of 1 to 10 records over 1 to 3 users each.
    const sends: Promise<void>[] = [];
    for (let r = 0; r < 60; r++) {
      const records: EventRecord[] = [];
      const size = 1 + (r % 10);
      for (let i = 0; i < size; i++) records.push(record(users[(r + (i % (1 + (r % 3)))) % 12]!));
      sends.push(producer.send(records));
    }
    await Promise.all(sends);
    const total = [...next.values()].reduce((a, b) => a + b, 0);

    const got = await readRecords(brokers, [topic], total);
    expect(got).toHaveLength(total);
    const partitionOf = new Map<string, number>();
    const seen = new Map<string, number[]>();
    for (const r of got) {
      const user = r.value.user as string;
      expect(r.key).toBe(user);
      if (!partitionOf.has(user)) partitionOf.set(user, r.partition);
      expect(r.partition).toBe(partitionOf.get(user));
      const list = seen.get(user) ?? [];
      list.push(r.value.seq as number);
      seen.set(user, list);
    }
    for (const user of users) {
      const expected = Array.from({ length: next.get(user)! }, (_, i) => i);
      expect(seen.get(user)).toEqual(expected);
    }
    // The users spread over more than one partition (three producers actually shared the work).
    expect(new Set(partitionOf.values()).size).toBeGreaterThan(1);
  });
});
