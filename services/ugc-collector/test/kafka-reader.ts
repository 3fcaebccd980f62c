/** Reads what a test wrote to Kafka: every record of some topics, from the beginning. */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';

export interface ReadRecord {
  topic: string;
  partition: number;
  key: string;
  value: Record<string, unknown>;
}

export async function readRecords(
  brokers: string[],
  topics: string[],
  count: number,
  timeoutMs = 15_000,
): Promise<ReadRecord[]> {
  const kafka = new Kafka({ clientId: 'test-reader', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `test-reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const got: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`read ${got.length} of ${count} records`)),
        timeoutMs,
      );
      void consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          got.push({
            topic,
            partition,
            key: message.key?.toString() ?? '',
            value: JSON.parse(message.value?.toString() ?? 'null') as Record<string, unknown>,
          });
          if (got.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    // Anything beyond `count` would show up within a moment.
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await consumer.disconnect();
  }
  return got;
}
