/**
 * Kafka clean-up for integration tests and benchmarks, so runs do not leave their topics behind
 * on a developer's long-lived stack (hundreds of leftover topics slow the broker down). Call it
 * only after every producer and consumer on those topics is closed, or a late send retries its
 * metadata lookups past the end of the test file.
 */
import { Kafka, logLevel } from 'kafkajs';

async function deleteWhere(
  keep: (topic: string) => boolean,
  brokers = process.env.KAFKA_BROKERS!,
): Promise<void> {
  const admin = new Kafka({
    clientId: 'test-cleanup',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const mine = (await admin.listTopics()).filter(keep);
    if (mine.length) await admin.deleteTopics({ topics: mine });
  } finally {
    await admin.disconnect();
  }
}

/** Deletes the named topics that exist (others are ignored). */
export async function deleteTestTopics(topics: string[], brokers?: string): Promise<void> {
  const named = new Set(topics);
  await deleteWhere((t) => named.has(t), brokers);
}

/** Deletes every topic whose name starts with `prefix` (a run's own random prefix). */
export async function deleteTopicsWithPrefix(prefix: string, brokers?: string): Promise<void> {
  if (prefix.length < 6) throw new Error(`refusing to delete topics by a short prefix "${prefix}"`);
  await deleteWhere((t) => t.startsWith(prefix), brokers);
}
