import { revocationFeedShape } from '@cinema/auth';
import { baseShape, bool, duration, list, loadConfig, port, z } from '@cinema/config';

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
/** Messages per second; 0 = unlimited. */
const rate = (fallback: number) => z.coerce.number().min(0).default(fallback);

export const configSchema = z
  .object({
    ...baseShape,
    PORT: port(8008),
    SERVICE_NAME: z.string().default('notifications'),
    DATABASE_URL: z.string().url(),
    /** Schema holding the service's tables. */
    NOTIFICATIONS_DB_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier')
      .default('notifications'),
    /** Run migrations at start (idempotent, under an advisory lock). */
    NOTIFICATIONS_MIGRATE_ON_START: bool(true),

    AMQP_URL: z.string().url(),
    /** auth's topic exchange of user events (docs/contracts.md). */
    AUTH_EVENTS_EXCHANGE: z.string().min(1).default('auth.events'),
    /** Prefix of the service's queues: `<prefix>.auth-events`, its retry queues and DLQ. */
    NOTIFICATIONS_QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,100}$/, 'letters, digits, _, . and -')
      .default('notifications'),
    /** Delays of the retry ladder (each a quorum queue whose TTL dead-letters back). */
    RETRY_DELAYS_MS: list(['10000', '60000', '600000']).transform((v, ctx) => {
      const ms = v.map(Number);
      if (!ms.length || ms.some((n) => !Number.isInteger(n) || n < 1)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: 'positive integers (ms), comma separated',
        });
        return z.NEVER;
      }
      return ms;
    }),
    /** Unacknowledged messages per consumer. */
    CONSUMER_PREFETCH: int(20, 1),

    /** Any SMTP server by URL (`smtp://`, `smtps://`); unset: e-mail deliveries fail (visible). */
    SMTP_URL: z.string().url().optional(),
    MAIL_FROM: z
      .string()
      .min(3)
      .refine((v) => !/[\r\n]/.test(v), 'one line')
      .default('Cinema <no-reply@cinema.local>'),
    /** The public base URL of this service (links in mails: one-click unsubscribe). */
    NOTIFICATIONS_PUBLIC_URL: z.string().url().default('http://127.0.0.1:8008'),
    /** HMAC secret (32+ chars) signing unsubscribe links. */
    UNSUBSCRIBE_SECRET: z.string().min(32).optional(),

    /** HTTP SMS gateway (POST JSON {to, text, category}); unset: SMS deliveries are skipped. */
    SMS_GATEWAY_URL: z.string().url().optional(),
    /** Categories SMS may carry. */
    SMS_CATEGORIES: list(['security']),

    /** Per-channel limits (messages per second, 0 = unlimited) of the delivery worker. */
    EMAIL_RATE_PER_SECOND: rate(50),
    SMS_RATE_PER_SECOND: rate(5),
    /** The delivery worker's poll interval (it is also woken by new deliveries). */
    DELIVERY_POLL_MS: duration(1000),
    /** Send attempts of one delivery before it is `failed` (backoff 5 s x 2^n, at most 10 min). */
    DELIVERY_MAX_ATTEMPTS: int(6, 1),
    /** Sends in flight at once per channel and replica (the SMTP pool has as many connections). */
    EMAIL_CONCURRENCY: int(8, 1),
    SMS_CONCURRENCY: int(4, 1),
    /** A claimed delivery whose worker died goes back to the queue after this long. */
    DELIVERY_LEASE_SECONDS: int(120, 5),

    /** Quiet hours when the user set none (local time of the user), e.g. 22:00-08:00; empty: none. */
    DEFAULT_QUIET_HOURS: z
      .string()
      .regex(/^$|^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM-HH:MM or empty')
      .default(''),

    /** Campaigns (mass and scheduled sends): pg-boss's schema (default `<NOTIFICATIONS_DB_SCHEMA>_jobs`). */
    CAMPAIGN_JOBS_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,49}$/, 'a lower-case SQL identifier')
      .optional(),
    /** Recipients planned per step (one transaction, one statement per table). */
    CAMPAIGN_BATCH_SIZE: int(1000, 1),
    /** Campaigns stepped at once by this replica. */
    CAMPAIGN_WORKERS: int(2, 1),
    /** A step running longer is taken for dead and retried; maintenance looks this often. */
    CAMPAIGN_JOB_EXPIRE_SECONDS: int(120, 5),
    CAMPAIGN_MAINTENANCE_SECONDS: int(60, 1),
    CAMPAIGN_POLL_SECONDS: z.coerce.number().min(0.5).default(1),
    /** Largest CSV audience upload (bytes; BODY_LIMIT must allow it) and explicit list. */
    CAMPAIGN_CSV_MAX_BYTES: int(1_000_000, 1),
    CAMPAIGN_MAX_LIST: int(100_000, 1),
    /** The admin panel's cookies get `Secure` (set behind HTTPS). */
    ADMIN_COOKIE_SECURE: bool(false),

    /** catalog-admin's exchange of catalog events (`film.published`: new-film announcements). */
    CATALOG_EVENTS_EXCHANGE: z.string().min(1).default('catalog.events'),
    /** ugc-api's exchange of ugc events (`review.liked`: the authors' digested in-app notices). */
    UGC_EVENTS_EXCHANGE: z.string().min(1).default('ugc.events'),
    /** One review-likes notice per review per this long (an hour). */
    REVIEW_LIKES_DIGEST_MS: duration(3_600_000),
    /** How often due review-likes digests are closed and their notices planned. */
    REVIEW_LIKES_FLUSH_MS: duration(15_000),
    /** The public site (links to films in announcements: `<site>/player/?film=<id>`). */
    CINEMA_SITE_URL: z.string().url().default('http://127.0.0.1:8080'),

    /** Base URL of the auth service (JWKS; the one-time backfill of the recipients). */
    AUTH_URL: z.string().url().optional(),
    AUTH_JWKS_URL: z.string().url().optional(),
    /**
     * The service account (role admin or super_user) the recipients back-fill logs in with to read
     * auth's users list; unset: no back-fill (docs/contracts.md, README).
     */
    AUTH_BACKFILL_EMAIL: z.string().email().optional(),
    AUTH_BACKFILL_PASSWORD: z.string().min(1).optional(),
    /** Back-fill at start when the recipients projection is empty (and the account is set). */
    AUTH_BACKFILL_ON_START: bool(true),
    /** Accounts per page of auth's users list (auth allows up to 500). */
    AUTH_BACKFILL_PAGE_SIZE: z.coerce.number().int().min(1).max(500).default(500),
    ...revocationFeedShape,
    JWT_ISSUER: z.string().default('cinema-auth'),
    JWT_AUDIENCE: z.string().default('cinema'),
  })
  .refine((c) => c.AUTH_JWKS_URL !== undefined || c.AUTH_URL !== undefined, {
    message: 'set AUTH_JWKS_URL or AUTH_URL',
    path: ['AUTH_JWKS_URL'],
  })
  .refine(
    (c) => (c.AUTH_BACKFILL_EMAIL === undefined) === (c.AUTH_BACKFILL_PASSWORD === undefined),
    {
      message: 'set both AUTH_BACKFILL_EMAIL and AUTH_BACKFILL_PASSWORD, or neither',
      path: ['AUTH_BACKFILL_PASSWORD'],
    },
  )
  .refine((c) => c.NODE_ENV !== 'production' || c.UNSUBSCRIBE_SECRET !== undefined, {
    message: 'required in production',
    path: ['UNSUBSCRIBE_SECRET'],
  });

export type Config = z.infer<typeof configSchema>;

export const readConfig = (env: NodeJS.ProcessEnv = process.env): Readonly<Config> =>
  loadConfig(configSchema as unknown as z.ZodObject<z.ZodRawShape>, env) as Readonly<Config>;
