import { baseShape, duration, loadConfig, port, z } from '@cinema/config';
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
  /**
   * jemalloc options of embedded chDB (its JE_MALLOC_CONF, read once when the library loads):
   * by default freed pages go back to the system at once instead of being kept for reuse, one
   * arena instead of one per CPU, no per-thread caches and no heap profiling (chDB's build turns
   * it on).
   */
  CHDB_MALLOC_CONF: z
    .string()
    .default(
      'dirty_decay_ms:0,muzzy_decay_ms:0,percpu_arena:disabled,narenas:1,tcache:false,prof:false',
    ),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a ClickHouse identifier')
    .default('tracking_user_events'),
  /** An insert is made when a table has this many rows waiting... */
  BATCH_MAX_ROWS: z.coerce.number().int().min(1).max(1_000_000).default(5_000),
  /** ...or when the oldest waiting row has waited this long. */
  BATCH_MAX_WAIT_MS: duration(250),
  /**
   * Upper bounds of one Kafka fetch (all partitions / each partition): what the loader holds in
   * memory at once besides the rows waiting for their insert.
   */
  KAFKA_FETCH_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  KAFKA_FETCH_MAX_BYTES_PER_PARTITION: z.coerce
    .number()
    .int()
    .min(1024)
    .default(256 * 1024),
  /** JWKS of the auth service, to verify the analysts' access tokens. */
  AUTH_JWKS_URL: z.string().url().optional(),
  AUTH_URL: z.string().url().optional(),
  JWT_ISSUER: z.string().default('cinema-auth'),
  JWT_AUDIENCE: z.string().default('cinema'),
});

export type Config = z.infer<typeof configSchema>;

export const readConfig = (env: NodeJS.ProcessEnv = process.env): Readonly<Config> => {
  const config = loadConfig(configSchema, env);
  return config;
};

/** AUTH_JWKS_URL, else the auth service's well-known JWKS address. */
export function jwksUrl(config: Pick<Config, 'AUTH_JWKS_URL' | 'AUTH_URL'>): string | undefined {
  if (config.AUTH_JWKS_URL) return config.AUTH_JWKS_URL;
  return config.AUTH_URL
    ? `${config.AUTH_URL.replace(/\/$/, '')}/.well-known/jwks.json`
    : undefined;
}
