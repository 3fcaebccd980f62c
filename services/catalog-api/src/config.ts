import { revocationFeedShape } from '@cinema/auth';
import { ConfigError, baseShape, duration, loadConfig, port, z } from '@cinema/config';
import { kafkaShape } from '@cinema/kafka';

export const configSchema = z.object({
  ...baseShape,
  PORT: port(8003),
  SERVICE_NAME: z.string().default('catalog-api'),
  ELASTICSEARCH_URL: z.string().url(),
  /** Prefix of the index names the ETL writes (`<prefix>films`, ...). */
  ES_INDEX_PREFIX: z
    .string()
    .regex(/^[a-z0-9_-]*$/, 'lower-case letters, digits, _ and - only')
    .default(''),
  ES_TIMEOUT_MS: duration(3_000),
  REDIS_URL: z.string().url(),
  /** Cached answers live this long at most (and are dropped earlier when the ETL writes). */
  CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  CACHE_KEY_PREFIX: z.string().min(1).default('catalog-api:cache:'),
  /** Answers also kept in process (least recently used dropped first); 0: Redis only. */
  CACHE_LOCAL_MAX_ENTRIES: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  /**
   * How stale the generation an in-process hit is checked against may be: after catalog-etl
   * writes, an older answer is served for at most this long (below the TTL).
   */
  CACHE_LOCAL_CHECK_MS: duration(100),
  /** Bumped by catalog-etl after every change it indexes (same default on both sides). */
  CACHE_GENERATION_KEY: z.string().min(1).default('catalog-api:cache:generation'),
  /** Brokers, client, topic prefix/partitions/replication, timeouts, retries (@cinema/kafka). */
  ...kafkaShape,
  KAFKA_CLIENT_ID: z.string().default('catalog-api'),
  /** Events waiting to be sent; beyond this they are dropped and counted. */
  PAGE_VIEW_BUFFER_SIZE: z.coerce.number().int().min(1).default(10_000),
  PAGE_VIEW_FLUSH_MS: duration(100),
  /** Base URL of the auth service; the JWKS defaults to `${AUTH_URL}/.well-known/jwks.json`. */
  AUTH_URL: z.string().url().optional(),
  AUTH_JWKS_URL: z.string().url().optional(),
  /** The session revocation feed (AUTH_REVOCATIONS_*; unset: not configured). */
  ...revocationFeedShape,
  JWT_ISSUER: z.string().default('cinema-auth'),
  JWT_AUDIENCE: z.string().default('cinema'),
});

export type Config = z.infer<typeof configSchema>;

export function readConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const config = loadConfig(configSchema, env);
  if (config.CACHE_LOCAL_CHECK_MS >= config.CACHE_TTL_SECONDS * 1000) {
    throw new ConfigError(['CACHE_LOCAL_CHECK_MS: must be below CACHE_TTL_SECONDS']);
  }
  if (!config.AUTH_JWKS_URL && !config.AUTH_URL) {
    throw new ConfigError(['AUTH_JWKS_URL: AUTH_JWKS_URL or AUTH_URL is required (not set)']);
  }
  return config;
}
