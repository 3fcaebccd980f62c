import { revocationFeedShape } from '@cinema/auth';
import { baseShape, bool, duration, loadConfig, port, z } from '@cinema/config';
import { kafkaShape } from '@cinema/kafka';

export const configSchema = z.object({
  ...baseShape,
  PORT: port(8006),
  SERVICE_NAME: z.string().default('ugc-etl'),
  /** Brokers, client, topic prefix/partitions/replication, timeouts, retries (@cinema/kafka). */
  ...kafkaShape,
  KAFKA_CLIENT_ID: z.string().default('ugc-etl'),
  KAFKA_GROUP_ID: z.string().default('ugc-etl'),
  /** A ClickHouse server (http://user:pass@host:8123); embedded chDB at CHDB_PATH when unset. */
  CLICKHOUSE_URL: z.string().url().optional(),
  CHDB_PATH: z.string().optional(),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a ClickHouse identifier')
    .default('tracking_user_events'),
  /**
   * A ClickHouse cluster (the production CinemaPlatform's `events`, 2 shards x 2 replicas): each
   * table is made ON CLUSTER as a Replicated* local table `<table>_local` plus a Distributed
   * `<table>` over it (sharded by event_id, so a duplicate meets its twin); unset: one server.
   */
  CLICKHOUSE_CLUSTER: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, 'a ClickHouse cluster name')
    .optional(),
  /** An insert is made when a table has this many rows waiting... */
  BATCH_MAX_ROWS: z.coerce.number().int().min(1).max(1_000_000).default(5_000),
  /** ...or when the oldest waiting row has waited this long. */
  BATCH_MAX_WAIT_MS: duration(250),
  /**
   * Upper bounds of one Kafka fetch (all partitions / each partition). The defaults are
   * kafkajs' total and the per-partition bound the loader had before the retired 300 MB RSS
   * target; a fetch cut short by them is inserted at once, so smaller ones cost no latency.
   */
  KAFKA_FETCH_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(10 * 1024 * 1024),
  KAFKA_FETCH_MAX_BYTES_PER_PARTITION: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
  /** JWKS of the auth service, to verify the analysts' access tokens. */
  AUTH_JWKS_URL: z.string().url().optional(),
  AUTH_URL: z.string().url().optional(),
  /** The session revocation feed (AUTH_REVOCATIONS_*; unset: not configured). */
  ...revocationFeedShape,
  JWT_ISSUER: z.string().default('cinema-auth'),
  JWT_AUDIENCE: z.string().default('cinema'),
  /** The analytics page's cookies only over HTTPS (set it behind a TLS gateway). */
  ANALYTICS_COOKIE_SECURE: bool(false),
});

export type Config = z.infer<typeof configSchema>;

export const readConfig = (env: NodeJS.ProcessEnv = process.env): Readonly<Config> =>
  loadConfig(configSchema, env);
