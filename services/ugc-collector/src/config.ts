import { revocationFeedShape } from '@cinema/auth';
import { baseShape, duration, loadConfig, port, z } from '@cinema/config';
import { kafkaShape } from '@cinema/kafka';

export const configSchema = z.object({
  ...baseShape,
  PORT: port(8005),
  SERVICE_NAME: z.string().default('ugc-collector'),
  /** Brokers, client, topic prefix/partitions/replication, timeouts, retries (@cinema/kafka). */
  ...kafkaShape,
  KAFKA_CLIENT_ID: z.string().default('ugc-collector'),
  /** How long a request waits for Kafka's acknowledgement before answering 503. */
  KAFKA_ACK_TIMEOUT_MS: duration(5_000),
  /** Events waiting for Kafka beyond this answer 503 at once (back-pressure). */
  KAFKA_MAX_PENDING: z.coerce.number().int().positive().default(100_000),
  /**
   * Idempotent producers in the pool: sends in flight at once (a user's events always go through
   * the same one, so their order holds). 1 by default: on the 2-core machine with one local
   * broker, 2 and 4 producers measured slower (smaller produce requests for the same CPU).
   */
  KAFKA_PRODUCERS: z.coerce.number().int().min(1).max(16).default(1),
  /**
   * Largest number of records in one produce request (group commit); bounded because kafkajs
   * groups a request's messages per partition in quadratic time.
   */
  KAFKA_MAX_BATCH_EVENTS: z.coerce.number().int().min(1).max(100_000).default(2_000),
  /**
   * JWKS of the auth service (else derived from AUTH_URL by `jwksUrlOf`); with neither, Bearer
   * tokens are refused (anonymous ids only).
   */
  AUTH_JWKS_URL: z.string().url().optional(),
  AUTH_URL: z.string().url().optional(),
  /** The session revocation feed (AUTH_REVOCATIONS_*; unset: not configured). */
  ...revocationFeedShape,
  JWT_ISSUER: z.string().default('cinema-auth'),
  JWT_AUDIENCE: z.string().default('cinema'),
  /** Largest number of events in one batch request. */
  BATCH_MAX_EVENTS: z.coerce.number().int().min(1).max(5_000).default(500),
});

export type Config = z.infer<typeof configSchema>;

export const readConfig = (env: NodeJS.ProcessEnv = process.env): Readonly<Config> =>
  loadConfig(configSchema, env);
