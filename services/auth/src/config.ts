import { isIP } from 'node:net';
import { baseShape, bool, duration, list, loadConfig, port, z } from '@cinema/config';

const int = (fallback: number, min = 1) => z.coerce.number().int().min(min).default(fallback);

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];
const isProxy = (entry: string) => {
  if (PROXY_NAMES.includes(entry)) return true;
  const [address, bits, ...more] = entry.split('/');
  if (more.length || !address || !isIP(address)) return false;
  if (bits === undefined) return true;
  const max = isIP(address) === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= max;
};

/**
 * Who may tell the client's address in `X-Forwarded-For`: a hop count (`1`: the one proxy in
 * front, whatever its address; `0`: nobody) or a list of addresses, CIDR ranges and the names
 * `loopback`, `linklocal`, `uniquelocal`. Everyone else is the socket's address.
 */
export const trustedProxies = () =>
  z
    .string()
    .default('loopback')
    .transform((v, ctx): number | string[] => {
      const text = v.trim();
      if (/^\d+$/.test(text)) return Number(text);
      const entries = text
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean);
      const bad = entries.filter((e) => !isProxy(e));
      if (!entries.length || bad.length) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `a hop count, or addresses / CIDR ranges / ${PROXY_NAMES.join(', ')} separated by commas (not: ${bad.join(', ') || 'empty'})`,
        });
        return z.NEVER;
      }
      return entries;
    });

export const configSchema = z.object({
  ...baseShape,
  PORT: port(8001),
  SERVICE_NAME: z.string().default('auth'),
  DATABASE_URL: z.string().url(),
  /** Schema holding the service's tables. */
  AUTH_DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier')
    .default('auth'),
  /** Run migrations at start (they are idempotent; `cli.js migrate` does the same). */
  AUTH_MIGRATE_ON_START: bool(true),
  REDIS_URL: z.string().url(),
  AMQP_URL: z.string().url(),
  /** Topic exchange of user events (docs/contracts.md). */
  AUTH_EVENTS_EXCHANGE: z.string().min(1).default('auth.events'),
  OUTBOX_POLL_MS: duration(1000),
  /** Proxies trusted to tell the client's address (X-Forwarded-For); default the local gateway. */
  TRUSTED_PROXIES: trustedProxies(),

  JWT_ISSUER: z.string().min(1).default('cinema-auth'),
  JWT_AUDIENCE: z.string().min(1).default('cinema'),
  JWT_ALG: z.enum(['RS256', 'ES256']).default('RS256'),
  ACCESS_TOKEN_TTL_SECONDS: int(900),
  REFRESH_TOKEN_TTL_SECONDS: int(30 * 24 * 3600),
  /** A rotated refresh token still works this long (two tabs refreshing at once). */
  REFRESH_REUSE_GRACE_SECONDS: int(10, 0),
  /** Days a signing key signs before `rotate-keys` or the service replaces it. */
  JWT_KEY_ROTATION_DAYS: int(30),
  /** Secret (32+ chars) that encrypts the private signing keys at rest (AES-256-GCM). */
  JWT_KEY_ENCRYPTION_SECRET: z.string().min(32).optional(),

  PASSWORD_RESET_TTL_SECONDS: int(3600),
  /** Lifetime of the link verifying an account's address (mailed on register). */
  VERIFY_EMAIL_TTL_SECONDS: int(2 * 24 * 3600),
  /** Lifetime of the link confirming a new address. */
  EMAIL_CHANGE_TTL_SECONDS: int(3600),
  /** An account without a password (OAuth) changes its address only this soon after a login. */
  REAUTH_MAX_AGE_SECONDS: int(300),

  /**
   * Mails of the account flows (verification, e-mail change, password reset): `smtp` sends them
   * from auth through SMTP_URL; `off` leaves them to the notifications service, which sends them
   * from the events. Default: `smtp` when SMTP_URL is set, else `off`.
   */
  AUTH_MAIL: z.enum(['smtp', 'off']).optional(),
  SMTP_URL: z.string().url().optional(),
  MAIL_FROM: z.string().min(3).default('Cinema <no-reply@cinema.local>'),
  /**
   * The web app's account pages the mailed links open; the single-use token travels in the URL
   * fragment (`#token=...`, never sent to a server, so never in an access log) and the page posts
   * it to the API: `<base>/verify-email`, `<base>/confirm-email`, `<base>/reset-password`.
   */
  ACCOUNT_LINKS_BASE_URL: z.string().url().default('http://127.0.0.1:8080/account'),
  /** argon2id cost (OWASP: m=19 MiB, t=2, p=1). */
  ARGON2_MEMORY_KIB: int(19_456, 1024),
  ARGON2_TIME_COST: int(2),
  ARGON2_PARALLELISM: int(1),

  /** Attempts per IP per minute on login, register and password reset. */
  RATE_LIMIT_IP_PER_MINUTE: int(60),
  /** Registrations, reset, verification and e-mail change requests per account per hour. */
  RATE_LIMIT_ACCOUNT_PER_HOUR: int(5),
  /**
   * Password evaluations of one account without a success (login; separately, the current
   * password of a password or e-mail change) before it is locked for LOGIN_LOCKOUT_SECONDS.
   */
  LOGIN_MAX_FAILURES: int(5),
  LOGIN_LOCKOUT_SECONDS: int(900),
  /** Redis key prefix of the limiters. */
  RATE_LIMIT_PREFIX: z.string().min(1).default('auth:rl'),

  /** OAuth2 / OpenID Connect login with Google (or any OIDC provider given by URL). */
  OAUTH_GOOGLE_CLIENT_ID: z.string().min(1).optional(),
  OAUTH_GOOGLE_CLIENT_SECRET: z.string().min(1).optional(),
  OAUTH_GOOGLE_ISSUER: z.string().url().default('https://accounts.google.com'),
  OAUTH_GOOGLE_AUTHORIZATION_URL: z
    .string()
    .url()
    .default('https://accounts.google.com/o/oauth2/v2/auth'),
  OAUTH_GOOGLE_TOKEN_URL: z.string().url().default('https://oauth2.googleapis.com/token'),
  OAUTH_GOOGLE_USERINFO_URL: z
    .string()
    .url()
    .default('https://openidconnect.googleapis.com/v1/userinfo'),
  OAUTH_GOOGLE_JWKS_URL: z.string().url().default('https://www.googleapis.com/oauth2/v3/certs'),
  /** Where the provider sends the browser back: `<public URL>/auth/oauth/google/callback`. */
  OAUTH_GOOGLE_CALLBACK_URL: z
    .string()
    .url()
    .default('http://127.0.0.1:8001/auth/oauth/google/callback'),
  OAUTH_SCOPES: list(['openid', 'email', 'profile']),
  /**
   * Where a browser goes after a Google login (the web app's page), with the tokens in the URL
   * fragment (never sent to a server, so never in access logs). Unset: the callback answers the
   * tokens as JSON, as password login does. API clients (Accept: application/json) always get JSON.
   */
  OAUTH_SUCCESS_REDIRECT_URL: z.string().url().optional(),
});

export type Config = z.infer<typeof configSchema>;

export const readConfig = (env: NodeJS.ProcessEnv = process.env): Readonly<Config> =>
  loadConfig(configSchema, env);
