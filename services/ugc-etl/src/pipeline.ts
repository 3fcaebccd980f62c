/**
 * Wiring of the loader: ClickHouse client (server URL or embedded chDB), schema, batched sink,
 * Kafka consumer and the analytics reader over the same client (one chDB path per process).
 */
import { createClickHouse, type ClickHouseClient } from '@cinema/clickhouse';
import type { Logger } from '@cinema/logging';
import { AnalyticsRepository } from './adapters/analytics.repository';
import { ClickHouseSink } from './adapters/clickhouse.sink';
import { EventLoader } from './adapters/events.consumer';
import { createSchema } from './adapters/schema';
import type { Config } from './config';

export type PipelineConfig = Pick<
  Config,
  | 'KAFKA_BROKERS'
  | 'KAFKA_CLIENT_ID'
  | 'KAFKA_GROUP_ID'
  | 'KAFKA_TOPIC_PREFIX'
  | 'KAFKA_TOPIC_PARTITIONS'
  | 'KAFKA_TOPIC_REPLICATION'
  | 'CLICKHOUSE_URL'
  | 'CHDB_PATH'
  | 'CLICKHOUSE_DATABASE'
  | 'BATCH_MAX_ROWS'
  | 'BATCH_MAX_WAIT_MS'
> &
  Partial<
    Pick<
      Config,
      'KAFKA_FETCH_MAX_BYTES' | 'KAFKA_FETCH_MAX_BYTES_PER_PARTITION' | 'CHDB_MALLOC_CONF'
    >
  >;

export interface Pipeline {
  ch: ClickHouseClient;
  sink: ClickHouseSink;
  loader: EventLoader;
  analytics: AnalyticsRepository;
  /** Starts consuming (resolves once subscribed; keeps retrying while Kafka is away). */
  start(): Promise<void>;
  /** Stops consuming, inserts what waits, closes ClickHouse. */
  stop(): Promise<void>;
}

export async function createPipeline(config: PipelineConfig, logger: Logger): Promise<Pipeline> {
  // Embedded chDB's allocator reads this when the library is loaded (by createClickHouse below,
  // once per process); an explicit JE_MALLOC_CONF in the environment wins.
  if (!config.CLICKHOUSE_URL && config.CHDB_MALLOC_CONF && !process.env.JE_MALLOC_CONF) {
    process.env.JE_MALLOC_CONF = config.CHDB_MALLOC_CONF;
  }
  const ch = createClickHouse({
    url: config.CLICKHOUSE_URL,
    path: config.CHDB_PATH,
    client: {
      clickhouse_settings: {
        date_time_input_format: 'best_effort',
        // Batches are ~1 MB: parsing them in parallel chunks gains nothing and holds buffers.
        input_format_parallel_parsing: 0,
      },
    },
  });
  await createSchema(ch, config.CLICKHOUSE_DATABASE);
  const sink = new ClickHouseSink(ch, {
    database: config.CLICKHOUSE_DATABASE,
    maxRows: config.BATCH_MAX_ROWS,
    maxWaitMs: config.BATCH_MAX_WAIT_MS,
    logger,
  });
  const loader = new EventLoader({
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID,
    groupId: config.KAFKA_GROUP_ID,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: config.KAFKA_TOPIC_REPLICATION,
    fetchMaxBytes: config.KAFKA_FETCH_MAX_BYTES,
    fetchMaxBytesPerPartition: config.KAFKA_FETCH_MAX_BYTES_PER_PARTITION,
    sink,
    logger,
  });
  const analytics = new AnalyticsRepository(ch, config.CLICKHOUSE_DATABASE);
  return {
    ch,
    sink,
    loader,
    analytics,
    start: () => loader.start(),
    stop: async () => {
      // The consumer's disconnect waits for the batches in hand, and those wait for their insert:
      // insert what waits now rather than when the batch timer fires.
      await Promise.all([loader.close(), sink.drain()]);
      await sink.drain();
      await ch.close();
    },
  };
}
