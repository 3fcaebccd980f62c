/**
 * @cinema/kafka against the stack's broker: a client from config, topics created with the
 * partitions asked for (KAFKA_TOPIC_PARTITIONS), existing ones left alone, kafkajs's logs in pino.
 */
import { Writable } from 'node:stream';
import { loadConfig, z } from '@cinema/config';
import { createLogger } from '@cinema/logging';
import { deleteTopicsWithPrefix, suffix } from '@cinema/testing';
import {
  createKafka,
  ensureTopics,
  kafkaShape,
  PAGE_VIEW_TOPICS,
  topicName,
  topicSettingsOf,
  withAdmin,
} from '@cinema/kafka';

const schema = z.object({ ...kafkaShape, KAFKA_CLIENT_ID: z.string().default('kafka-int-test') });
const prefix = `test.kafka.${suffix()}.`;
const logger = createLogger({ service: 'kafka-int-test', level: 'silent' });

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'svc', destination: stream }) };
}

afterAll(async () => {
  await deleteTopicsWithPrefix(prefix);
});

describe('ensureTopics on the broker', () => {
  it('creates the missing topics with KAFKA_TOPIC_PARTITIONS partitions and leaves existing ones', async () => {
    const config = loadConfig(schema, {
      ...process.env,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: '5',
      KAFKA_TOPIC_REPLICATION: '1',
    });
    const kafka = createKafka(config, logger);
    const first = topicName(PAGE_VIEW_TOPICS.get_films, config.KAFKA_TOPIC_PREFIX);
    const second = topicName(PAGE_VIEW_TOPICS.get_genres, config.KAFKA_TOPIC_PREFIX);
    await withAdmin(kafka, async (admin) => {
      expect(await ensureTopics(admin, [first], { partitions: 2, replication: 1 })).toEqual([
        first,
      ]);
      expect(await ensureTopics(admin, [first, second], topicSettingsOf(config))).toEqual([second]);
      expect(await ensureTopics(admin, [second, first], topicSettingsOf(config))).toEqual([]);
      const { topics } = await admin.fetchTopicMetadata({ topics: [first, second] });
      const partitions = Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]));
      expect(partitions).toEqual({ [first]: 2, [second]: 5 });
      for (const t of topics) {
        for (const p of t.partitions) expect(p.replicas).toHaveLength(1);
      }
    });
  });

  it("writes kafkajs's own errors into the service's log", async () => {
    const { lines, logger: log } = capture();
    const kafka = createKafka(
      loadConfig(schema, {
        KAFKA_BROKERS: '127.0.0.1:1',
        KAFKA_RETRIES: '0',
        KAFKA_CONNECTION_TIMEOUT_MS: '500',
      }),
      log,
    );
    await expect(withAdmin(kafka, (admin) => admin.listTopics())).rejects.toThrow();
    const errors = lines.filter((l) => l['log.logger'] === 'kafkajs' && l['log.level'] === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({
      'service.name': 'svc',
      kafka: { namespace: expect.any(String), broker: '127.0.0.1:1' },
    });
  });
});
