/**
 * Builds every adapter and use case once and returns the one dependencies object the app serves
 * (controllers get it by constructor through tsoa's IoC module in @cinema/http; the shared
 * `expressAuthentication` of @cinema/auth uses its `verifier`). Each adapter registers its own
 * shutdown hook on the lifecycle. The CLI reuses the pieces it needs (pool, keys, hasher).
 */
import { createTokenVerifier, type AuthDependencies, type TokenVerifier } from '@cinema/auth';
import { ConfigError } from '@cinema/config';
import { UnauthorizedError } from '@cinema/errors';
import type { Lifecycle, ReadinessCheck, ServiceRuntime } from '@cinema/http';
import type { Logger } from '@cinema/logging';
import { ping, type Pool } from '@cinema/pg';
import { Redis } from 'ioredis';
import { createSchemaPool, createStore, runMigrations } from './adapters/db';
import { createGoogleOAuth, type OAuthLogin } from './adapters/google.oauth';
import { OutboxPublisher } from './adapters/outbox.publisher';
import { createPasswordHasher } from './adapters/password.hasher';
import { createLimiter } from './adapters/rate-limits';
import { redisReadiness } from './adapters/redis.policy';
import { SessionsRepository } from './adapters/sessions.repository';
import { KeyStore } from './adapters/signing-keys.repository';
import { createSmtpMailer, noMailer } from './adapters/smtp.mailer';
import type { Config } from './config';
import { AuthService } from './domain/auth.service';
import { Revocations } from './domain/revocations';
import type { Links, Mailer, PasswordHasher } from './domain/model';

export interface Dependencies extends AuthDependencies {
  config: Pick<
    Config,
    'CORS_ORIGINS' | 'BODY_LIMIT' | 'OAUTH_SUCCESS_REDIRECT_URL' | 'TRUSTED_PROXIES'
  >;
  logger: Logger;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
  auth: AuthService;
  /** The signing keys (the JWKS endpoint publishes them). */
  keys: KeyStore;
  /** Recently ended sessions: the catch-up of the revocation feed. */
  revocations: Revocations;
  /** Undefined when no Google client is configured. */
  google?: OAuthLogin;
}

/** The stores and clients behind the use cases, each built once. */
export interface Adapters {
  pool: Pool;
  redis: Redis;
  keys: KeyStore;
  publisher: OutboxPublisher;
  /** Account mails (AUTH_MAIL): SMTP, or nothing when notifications sends them. */
  mailer: Mailer;
  google?: OAuthLogin;
}

export async function wire(runtime: ServiceRuntime<Readonly<Config>>): Promise<Dependencies> {
  return wireDependencies(await wireAdapters(runtime), runtime);
}

/**
 * Connects PostgreSQL (migrating when AUTH_MIGRATE_ON_START), loads the signing keys, connects
 * Redis, starts the outbox publisher and sets up Google login; each registers its shutdown hook
 * (they run in reverse: publisher, Redis, key reload, PostgreSQL).
 */
export async function wireAdapters({
  config,
  logger,
  lifecycle,
}: ServiceRuntime<Readonly<Config>>): Promise<Adapters> {
  const pool = await connectPostgres(config, logger, { migrate: config.AUTH_MIGRATE_ON_START });
  lifecycle.onShutdown('postgres', () => pool.end());

  const keys = keyStoreOf(pool, config);
  await keys.init();
  if (!config.JWT_KEY_ENCRYPTION_SECRET) {
    logger.warn(
      'JWT_KEY_ENCRYPTION_SECRET is not set: private signing keys are stored unencrypted',
    );
  }
  // Other replicas may rotate: pick up their keys.
  const reload = setInterval(
    () => void keys.load().catch((err) => logger.warn({ err }, 'reloading signing keys failed')),
    60_000,
  );
  reload.unref();
  lifecycle.onShutdown('signing-keys', () => clearInterval(reload));

  const redis = new Redis(config.REDIS_URL, {
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
  });
  redis.on('error', (err) => logger.warn({ err }, 'redis error'));
  lifecycle.onShutdown('redis', () => void redis.disconnect());

  const publisher = new OutboxPublisher({
    pool,
    amqpUrl: config.AMQP_URL,
    exchange: config.AUTH_EVENTS_EXCHANGE,
    logger,
    pollMs: config.OUTBOX_POLL_MS,
  });
  lifecycle.onShutdown('outbox-publisher', () => publisher.stop());

  const google =
    config.OAUTH_GOOGLE_CLIENT_ID && config.OAUTH_GOOGLE_CLIENT_SECRET
      ? createGoogleOAuth({
          clientId: config.OAUTH_GOOGLE_CLIENT_ID,
          clientSecret: config.OAUTH_GOOGLE_CLIENT_SECRET,
          issuer: config.OAUTH_GOOGLE_ISSUER,
          authorizationUrl: config.OAUTH_GOOGLE_AUTHORIZATION_URL,
          tokenUrl: config.OAUTH_GOOGLE_TOKEN_URL,
          userInfoUrl: config.OAUTH_GOOGLE_USERINFO_URL,
          jwksUrl: config.OAUTH_GOOGLE_JWKS_URL,
          callbackUrl: config.OAUTH_GOOGLE_CALLBACK_URL,
          scopes: config.OAUTH_SCOPES,
          redis,
          keyPrefix: config.RATE_LIMIT_PREFIX,
        })
      : undefined;

  const mailer = mailerOf(config, logger, lifecycle);

  publisher.start();
  return { pool, redis, keys, publisher, mailer, google };
}

/** AUTH_MAIL=smtp (the default when SMTP_URL is set): auth mails the links itself. */
function mailerOf(
  config: Pick<Config, 'AUTH_MAIL' | 'SMTP_URL' | 'MAIL_FROM'>,
  logger: Logger,
  lifecycle: Lifecycle,
): Mailer {
  const mode = config.AUTH_MAIL ?? (config.SMTP_URL ? 'smtp' : 'off');
  if (mode === 'off') return noMailer;
  if (!config.SMTP_URL) throw new ConfigError(['AUTH_MAIL: smtp needs SMTP_URL (not set)']);
  const mailer = createSmtpMailer({ smtpUrl: config.SMTP_URL, from: config.MAIL_FROM, logger });
  lifecycle.onShutdown('mailer', () => mailer.close());
  return mailer;
}

/** The account pages of the web app; the token goes in the fragment (never to a server). */
export function linksOf(config: Pick<Config, 'ACCOUNT_LINKS_BASE_URL'>): Links {
  const base = config.ACCOUNT_LINKS_BASE_URL.replace(/\/+$/, '');
  const link = (page: string) => (token: string) =>
    `${base}/${page}#token=${encodeURIComponent(token)}`;
  return {
    verifyEmail: link('verify-email'),
    confirmEmailChange: link('confirm-email'),
    resetPassword: link('reset-password'),
  };
}

/** The use cases over the adapters, the verifier of the service's own tokens, readiness. */
export function wireDependencies(
  { pool, redis, keys, publisher, mailer, google }: Adapters,
  { config, logger, lifecycle }: ServiceRuntime<Readonly<Config>>,
): Dependencies {
  // Ending sessions publishes them (`session.revoked` through the outbox, at once): every
  // service's verifier refuses their tokens within about a second (docs/contracts.md).
  const store = createStore(pool, {
    accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    revoked: publisher.notify,
  });
  const auth = new AuthService(
    store,
    passwordHasherOf(config),
    keys,
    createLimiter(redis, {
      prefix: config.RATE_LIMIT_PREFIX,
      ipPerMinute: config.RATE_LIMIT_IP_PER_MINUTE,
      accountPerHour: config.RATE_LIMIT_ACCOUNT_PER_HOUR,
      maxFailures: config.LOGIN_MAX_FAILURES,
      lockoutSeconds: config.LOGIN_LOCKOUT_SECONDS,
    }),
    {
      accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
      refreshReuseGraceSeconds: config.REFRESH_REUSE_GRACE_SECONDS,
      passwordResetTtlSeconds: config.PASSWORD_RESET_TTL_SECONDS,
      verifyEmailTtlSeconds: config.VERIFY_EMAIL_TTL_SECONDS,
      emailChangeTtlSeconds: config.EMAIL_CHANGE_TTL_SECONDS,
      reauthMaxAgeSeconds: config.REAUTH_MAX_AGE_SECONDS,
    },
    publisher.notify,
    { mailer, links: linksOf(config) },
  );
  return {
    config,
    logger,
    lifecycle,
    readiness: {
      postgres: () => ping(pool),
      // Ready only on a Redis that never evicts (lockouts and limits must not vanish).
      redis: redisReadiness(redis),
    },
    auth,
    keys,
    revocations: new Revocations(new SessionsRepository(pool), config.ACCESS_TOKEN_TTL_SECONDS),
    google,
    verifier: sessionVerifier(keys, auth, config),
  };
}

/**
 * The service verifies its own tokens as every other service does (jose, here against its own
 * key set, rebuilt whenever the keys change), and also refuses tokens of sessions that have
 * ended (logout is immediate here).
 */
function sessionVerifier(
  keys: KeyStore,
  auth: AuthService,
  config: Pick<Config, 'JWT_ISSUER' | 'JWT_AUDIENCE'>,
): TokenVerifier {
  let verify: TokenVerifier | undefined;
  keys.onChange((jwks) => {
    verify = createTokenVerifier({
      jwks,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
    });
  });
  return async (token) => {
    if (!verify) throw new UnauthorizedError('no signing keys are loaded');
    const principal = await verify(token);
    if (principal.claims.typ !== 'access') throw new UnauthorizedError('not an access token');
    if (!principal.sessionId || !(await auth.isSessionActive(principal.sessionId))) {
      throw new UnauthorizedError('the session has ended');
    }
    return principal;
  };
}

/* ---------- pieces the CLI shares ---------- */

/** A pool on the service's schema (pool errors logged), migrated first when asked. */
export async function connectPostgres(
  config: Pick<Config, 'DATABASE_URL' | 'AUTH_DB_SCHEMA'>,
  logger: Logger,
  options: { migrate: boolean; max?: number },
): Promise<Pool> {
  const pool = createSchemaPool(config.DATABASE_URL, config.AUTH_DB_SCHEMA, options.max);
  pool.on('error', (err) => logger.warn({ err }, 'postgres pool error'));
  if (options.migrate) {
    try {
      const result = await runMigrations(pool, config.AUTH_DB_SCHEMA);
      if (result.applied.length) logger.info({ applied: result.applied }, 'migrations applied');
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
  }
  return pool;
}

export function keyStoreOf(
  pool: Pool,
  config: Pick<
    Config,
    | 'JWT_ALG'
    | 'JWT_ISSUER'
    | 'JWT_AUDIENCE'
    | 'ACCESS_TOKEN_TTL_SECONDS'
    | 'JWT_KEY_ROTATION_DAYS'
    | 'JWT_KEY_ENCRYPTION_SECRET'
  >,
): KeyStore {
  return new KeyStore(pool, {
    alg: config.JWT_ALG,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    rotationDays: config.JWT_KEY_ROTATION_DAYS,
    encryptionSecret: config.JWT_KEY_ENCRYPTION_SECRET,
  });
}

export function passwordHasherOf(
  config: Pick<Config, 'ARGON2_MEMORY_KIB' | 'ARGON2_TIME_COST' | 'ARGON2_PARALLELISM'>,
): PasswordHasher {
  return createPasswordHasher({
    memoryCost: config.ARGON2_MEMORY_KIB,
    timeCost: config.ARGON2_TIME_COST,
    parallelism: config.ARGON2_PARALLELISM,
  });
}
