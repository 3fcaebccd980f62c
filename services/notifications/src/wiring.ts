/**
 * Builds every adapter and use case once and returns the one dependencies object the app serves
 * (controllers get it by constructor through tsoa's IoC module in @cinema/http; the shared
 * `expressAuthentication` of @cinema/auth uses its `verifier`). Each adapter registers its own
 * shutdown hook on the lifecycle (they run last-registered first).
 *
 * Sections, each additive: PostgreSQL -> RabbitMQ -> channels -> use cases -> consumers.
 */
import { createTokenVerifier, startRevocationFeed, type AuthDependencies } from '@cinema/auth';
import { jwksUrlOf } from '@cinema/config';
import type { Lifecycle, ReadinessCheck, ServiceRuntime } from '@cinema/http';
import type { Logger } from '@cinema/logging';
import { ping, type Pool } from '@cinema/pg';
import { AmqpConnection } from './adapters/amqp';
import { createSchemaPool, runMigrations } from './adapters/db';
import { PgInboxFeed } from './adapters/inbox.feed';
import { PgInboxRepository } from './adapters/inbox.repository';
import { SseStreams } from './adapters/sse.streams';
import type { Config } from './config';
import { InboxService } from './domain/inbox';

export interface Dependencies extends AuthDependencies {
  config: Pick<Config, 'CORS_ORIGINS' | 'BODY_LIMIT'>;
  logger: Logger;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
  pool: Pool;
  amqp: AmqpConnection;
  /** The caller's in-app inbox (API and SSE). */
  inbox: InboxService;
  /** Open SSE streams (ended on shutdown). */
  streams: SseStreams;
  /**
   * Starts the background work (consumers, delivery worker) after the server listens; their
   * shutdown hooks, registered then, run before the server's graceful close.
   */
  start(): Promise<void>;
}

export async function wire(runtime: ServiceRuntime<Readonly<Config>>): Promise<Dependencies> {
  const { config, logger, lifecycle } = runtime;

  // PostgreSQL (migrated at start unless NOTIFICATIONS_MIGRATE_ON_START=false).
  const pool = await connectPostgres(config, logger);
  lifecycle.onShutdown('postgres', () => pool.end());

  // RabbitMQ: one connection; consumers register their setups on it.
  const amqp = new AmqpConnection(config.AMQP_URL, logger);
  await amqp.start();
  lifecycle.onShutdown('amqp', () => amqp.close());

  // In-app inbox: PostgreSQL, live to open streams through LISTEN/NOTIFY.
  const inboxItems = new PgInboxRepository(pool);
  const feed = new PgInboxFeed({
    url: config.DATABASE_URL,
    schema: config.NOTIFICATIONS_DB_SCHEMA,
    items: inboxItems,
    logger,
  });
  await feed.start();
  lifecycle.onShutdown('inbox-feed', () => feed.close());
  const streams = new SseStreams();
  const inbox = new InboxService(inboxItems, feed);

  // Ended sessions (logout, ...) are refused within about a second.
  const revocations = startRevocationFeed(config, { logger, lifecycle });
  const verifier = createTokenVerifier({
    jwksUrl: jwksUrlOf(config),
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    revocations,
  });

  return {
    config,
    logger,
    lifecycle,
    verifier,
    pool,
    amqp,
    inbox,
    streams,
    start: async () => {
      lifecycle.onShutdown('sse-streams', () => streams.close());
    },
    readiness: {
      postgres: () => ping(pool),
      rabbitmq: amqp.check,
      revocations: revocations.check,
      'inbox-feed': async () => {
        if (!feed.listening) throw new Error('not listening');
      },
    },
  };
}

export async function connectPostgres(
  config: Pick<
    Config,
    'DATABASE_URL' | 'NOTIFICATIONS_DB_SCHEMA' | 'NOTIFICATIONS_MIGRATE_ON_START'
  >,
  logger: Logger,
): Promise<Pool> {
  const pool = createSchemaPool(config.DATABASE_URL, config.NOTIFICATIONS_DB_SCHEMA);
  try {
    if (config.NOTIFICATIONS_MIGRATE_ON_START) {
      const result = await runMigrations(pool, config.NOTIFICATIONS_DB_SCHEMA, (m) =>
        logger.info(m),
      );
      if (result.applied.length) logger.info({ applied: result.applied }, 'migrations applied');
    }
    return pool;
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
}
