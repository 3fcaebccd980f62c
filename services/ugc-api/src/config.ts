import { revocationFeedShape } from '@cinema/auth';
import { baseShape, duration, loadConfig, port, z } from '@cinema/config';

export const configSchema = z
  .object({
    ...baseShape,
    PORT: port(8007),
    SERVICE_NAME: z.string().default('ugc-api'),
    /** A MongoDB (or FerretDB) connection string. */
    MONGODB_URL: z.string().regex(/^mongodb(\+srv)?:\/\//, 'a mongodb:// or mongodb+srv:// URL'),
    /** Database holding the service's collections. */
    MONGODB_DB: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,63}$/, 'letters, digits, _ and -, at most 63')
      .default('ugc'),
    /** Base URL of the auth service; the JWKS defaults to `${AUTH_URL}/.well-known/jwks.json`. */
    AUTH_URL: z.string().url().optional(),
    AUTH_JWKS_URL: z.string().url().optional(),
    /** The session revocation feed (AUTH_REVOCATIONS_*; unset: not configured). */
    ...revocationFeedShape,
    JWT_ISSUER: z.string().default('cinema-auth'),
    JWT_AUDIENCE: z.string().default('cinema'),
    /**
     * Lease of the per-film / per-review write locks: a lock left behind by a crashed instance
     * is taken over after this long.
     */
    LOCK_LEASE_MS: duration(10_000),
    /** How long a write waits for a busy lock before answering 503. */
    LOCK_WAIT_MS: duration(5_000),
    /**
     * RabbitMQ, where the relay publishes the reviews' events (`review.liked`) from the votes'
     * outbox entries; unset: the entries wait on their votes (readiness says so).
     */
    AMQP_URL: z.string().url().optional(),
    /** The topic exchange of the ugc events (docs/contracts.md). */
    UGC_EVENTS_EXCHANGE: z.string().min(1).default('ugc.events'),
    /** The relay's poll interval (it is also woken after each vote that wrote an event). */
    OUTBOX_POLL_MS: duration(1000),
  })
  .refine((c) => c.AUTH_JWKS_URL !== undefined || c.AUTH_URL !== undefined, {
    message: 'set AUTH_JWKS_URL or AUTH_URL',
    path: ['AUTH_JWKS_URL'],
  });

export type Config = z.infer<typeof configSchema>;

export const readConfig = (env: NodeJS.ProcessEnv = process.env): Readonly<Config> =>
  loadConfig(configSchema as unknown as z.ZodObject<z.ZodRawShape>, env) as Readonly<Config>;
