/**
 * Kafka clean-up for integration tests: deletes the named topics that exist (others are
 * ignored). Call it only after every producer writing to them is closed, or a late send
 * retries its metadata lookups past the end of the test file.
 */
import { Kafka, logLevel } from 'kafkajs';

export async function deleteTestTopics(topics: string[]): Promise<void> {
  const admin = new Kafka({
    clientId: 'test-cleanup',
    brokers: process.env.KAFKA_BROKERS!.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const mine = topics.filter((t) => existing.has(t));
    if (mine.length) await admin.deleteTopics({ topics: mine });
  } finally {
    await admin.disconnect();
  }
}
