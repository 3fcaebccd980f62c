import { revocationFeedShape } from '@cinema/auth';
import { baseShape, bool, duration, loadConfig, port, z } from '@cinema/config';

export const configSchema = z.object({
  ...baseShape,
  PORT: port(8002),
  SERVICE_NAME: z.string().default('catalog-admin'),
  DATABASE_URL: z.string().url(),
  /** Base URL of the auth service (login and refresh for the admin panel). */
  AUTH_URL: z.string().url(),
  /** JWKS of the auth service; `${AUTH_URL}/.well-known/jwks.json` when unset (jwksUrlOf). */
  AUTH_JWKS_URL: z.string().url().optional(),
  /** The session revocation feed (AUTH_REVOCATIONS_*; unset: not configured). */
  ...revocationFeedShape,
  JWT_ISSUER: z.string().default('cinema-auth'),
  JWT_AUDIENCE: z.string().default('cinema'),
  /** Sets the Secure flag on the admin's cookies (turn on whenever the panel is served over TLS). */
  ADMIN_COOKIE_SECURE: bool(false),
  /** Apply the `content` schema migrations at start. */
  MIGRATE_ON_START: bool(true),
  /**
   * RabbitMQ, where the outbox publisher relays the catalog's events (`film.published`); unset:
   * events wait in `content.outbox` (readiness says so) until a publisher with a URL runs.
   */
  AMQP_URL: z.string().url().optional(),
  /** The topic exchange of the catalog's events (docs/contracts.md). */
  CATALOG_EVENTS_EXCHANGE: z.string().min(1).default('catalog.events'),
  /** The outbox publisher's poll interval (it is also woken after each commit with events). */
  OUTBOX_POLL_MS: duration(1000),
  /**
   * The ops pages (/admin/ops): Jaeger's query service (the stack's JAEGER_URL; in a cluster the
   * Jaeger operator's `<name>-query:16686`) and the Elasticsearch holding the platform's logs
   * (credentials in the URL when it needs them). Unset: that page says it is not configured.
   */
  OPS_JAEGER_URL: z.string().url().optional(),
  OPS_ELASTICSEARCH_URL: z.string().url().optional(),
  /** Index pattern of the log lines: the stack's daily indices, or Filebeat's `logs-*`. */
  OPS_LOGS_INDEX: z
    .string()
    .regex(/^[\w.*,-]+$/, 'index names or patterns, comma-separated')
    .default('logs-cinema-*'),
});

export type Config = z.infer<typeof configSchema>;

export const readConfig = (env: NodeJS.ProcessEnv = process.env): Readonly<Config> =>
  loadConfig(configSchema, env);
