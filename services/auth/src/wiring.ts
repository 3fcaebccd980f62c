/**
 * Builds the service's parts from its config: pool (on its schema), migrations, signing keys,
 * Redis limiter, outbox publisher, Google login and the use cases. main.ts, the CLI and the
 * tests share it.
 */
import { createTokenVerifier } from '@cinema/auth';
import type { Logger } from '@cinema/logging';
import { ping, type Pool } from '@cinema/pg';
import { Redis } from 'ioredis';
import { createSchemaPool, createStore, runMigrations } from './adapters/db';
import { createGoogleOAuth, type OAuthLogin } from './adapters/google.oauth';
import { OutboxPublisher } from './adapters/outbox.publisher';
import { createPasswordHasher } from './adapters/password.hasher';
import { createLimiter } from './adapters/rate-limits';
import { KeyStore } from './adapters/signing-keys.repository';
import { setTokenVerifier } from './api/authentication';
import { AuthService } from './domain/auth.service';
import type { Config } from './config';
import { UnauthorizedError } from '@cinema/http';

export interface Components {
  pool: Pool;
  redis: Redis;
  keys: KeyStore;
  auth: AuthService;
  publisher: OutboxPublisher;
  google?: OAuthLogin;
  readiness: Record<string, () => Promise<unknown>>;
  /** Closes everything, publisher first. */
  close(): Promise<void>;
}

export async function createComponents(
  config: Readonly<Config>,
  logger: Logger,
  opts: { startPublisher?: boolean } = {},
): Promise<Components> {
  const pool = createSchemaPool(config.DATABASE_URL, config.AUTH_DB_SCHEMA);
  pool.on('error', (err) => logger.warn({ err }, 'postgres pool error'));
  try {
    if (config.AUTH_MIGRATE_ON_START) {
      const result = await runMigrations(pool, config.AUTH_DB_SCHEMA);
      if (result.applied.length) logger.info({ applied: result.applied }, 'migrations applied');
    }
    const keys = new KeyStore(pool, {
      alg: config.JWT_ALG,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      rotationDays: config.JWT_KEY_ROTATION_DAYS,
      encryptionSecret: config.JWT_KEY_ENCRYPTION_SECRET,
    });
    await keys.init();
    if (!config.JWT_KEY_ENCRYPTION_SECRET) {
      logger.warn(
        'JWT_KEY_ENCRYPTION_SECRET is not set: private signing keys are stored unencrypted',
      );
    }

    const redis = new Redis(config.REDIS_URL, {
      lazyConnect: false,
      maxRetriesPerRequest: 2,
      enableOfflineQueue: true,
    });
    redis.on('error', (err) => logger.warn({ err }, 'redis error'));

    const publisher = new OutboxPublisher({
      pool,
      amqpUrl: config.AMQP_URL,
      exchange: config.AUTH_EVENTS_EXCHANGE,
      logger,
      pollMs: config.OUTBOX_POLL_MS,
    });

    const auth = new AuthService(
      createStore(pool),
      createPasswordHasher({
        memoryCost: config.ARGON2_MEMORY_KIB,
        timeCost: config.ARGON2_TIME_COST,
        parallelism: config.ARGON2_PARALLELISM,
      }),
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
      },
      publisher.notify,
    );

    // The service verifies its own tokens like every other service does (local JWKS, jose),
    // and additionally refuses tokens of sessions that have ended (logout is immediate here).
    keys.onChange((jwks) => {
      const verify = createTokenVerifier({
        jwks,
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
      });
      setTokenVerifier(async (token) => {
        const principal = await verify(token);
        if (principal.claims.typ !== 'access') throw new UnauthorizedError('not an access token');
        if (!principal.sessionId || !(await auth.isSessionActive(principal.sessionId))) {
          throw new UnauthorizedError('the session has ended');
        }
        return principal;
      });
    });
    // Other replicas may rotate: pick up their keys.
    const reload = setInterval(
      () => void keys.load().catch((err) => logger.warn({ err }, 'reloading signing keys failed')),
      60_000,
    );
    reload.unref();

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

    if (opts.startPublisher !== false) publisher.start();

    return {
      pool,
      redis,
      keys,
      auth,
      publisher,
      google,
      readiness: {
        postgres: () => ping(pool),
        redis: () => redis.ping(),
      },
      async close() {
        clearInterval(reload);
        await publisher.stop();
        redis.disconnect();
        await pool.end();
      },
    };
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
}
