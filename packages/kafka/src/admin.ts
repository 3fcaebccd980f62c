/**
 * Topic creation: the topics a service writes or reads are created at start when missing, with
 * the partitions and replication of its config (`KAFKA_TOPIC_PARTITIONS`,
 * `KAFKA_TOPIC_REPLICATION`). In Kubernetes the charts declare them first (Strimzi KafkaTopics),
 * so there this finds them in place. Topics that exist are left as they are.
 */
import type { Admin, Kafka } from 'kafkajs';
import type { KafkaConfig } from './client';

export interface TopicSettings {
  partitions: number;
  /** -1: the broker's `default.replication.factor`. */
  replication: number;
}

/** The topic settings of a service's config. */
export function topicSettingsOf(
  config: Pick<KafkaConfig, 'KAFKA_TOPIC_PARTITIONS' | 'KAFKA_TOPIC_REPLICATION'>,
): TopicSettings {
  return { partitions: config.KAFKA_TOPIC_PARTITIONS, replication: config.KAFKA_TOPIC_REPLICATION };
}

/**
 * Creates those of `topics` that do not exist (the admin is connected), waiting for their
 * leaders; resolves to the names it created. A topic another process created meanwhile counts as
 * existing.
 */
export async function ensureTopics(
  admin: Pick<Admin, 'listTopics' | 'createTopics'>,
  topics: Iterable<string>,
  settings: TopicSettings,
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = [...new Set(topics)].filter((t) => !existing.has(t));
  if (missing.length) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: settings.partitions,
        replicationFactor: settings.replication,
      })),
    });
  }
  return missing;
}

/** Runs `work` with a connected admin client, disconnected afterwards whatever happens. */
export async function withAdmin<T>(kafka: Kafka, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
