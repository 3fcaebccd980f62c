/**
 * Builds every adapter and use case once and returns the one dependencies object the app serves
 * (controllers get it by constructor through tsoa's IoC module in @cinema/http; the admin panel
 * gets it from buildApp).
 */
import {
  createTokenVerifier,
  startRevocationFeed,
  type AuthDependencies,
  createAuthClient,
  type AuthClient,
} from '@cinema/auth';
import { jwksUrlOf } from '@cinema/config';
import type { Lifecycle, ReadinessCheck, ServiceRuntime } from '@cinema/http';
import type { Logger } from '@cinema/logging';
import { createPool, ping } from '@cinema/pg';

import { Client } from '@elastic/elasticsearch';
import { PgCatalogRepository } from './adapters/catalog.repository';
import { JaegerQuery } from './adapters/jaeger.query';
import { ElasticLogSearch } from './adapters/logs.search';
import { OutboxPublisher } from './adapters/outbox.publisher';
import type { Config } from './config';
import { CatalogService } from './domain/catalog.service';
import type { LogQuery, TraceQuery } from './domain/ops';
import { migrateContent } from './schema';

export interface Dependencies extends AuthDependencies {
  config: Pick<Config, 'CORS_ORIGINS' | 'BODY_LIMIT' | 'ADMIN_COOKIE_SECURE'>;
  logger: Logger;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
  /** The catalog's use cases: the admin panel and the movies API both go through them. */
  catalog: CatalogService;
  /** The auth service's login and refresh API (the admin panel's login form). */
  auth: AuthClient;
  /** The ops pages' Jaeger and log store (each unset when not configured). */
  ops?: { traces?: TraceQuery; logs?: LogQuery };
}

export async function wire({
  config,
  logger,
  lifecycle,
}: ServiceRuntime<Config>): Promise<Dependencies> {
  const pool = createPool(config.DATABASE_URL);
  pool.on('error', (err) => logger.warn({ err }, 'idle PostgreSQL connection failed'));
  lifecycle.onShutdown('postgres', () => pool.end());
  if (config.MIGRATE_ON_START) {
    const { applied } = await migrateContent(pool, (m) => logger.info(m));
    logger.info({ applied }, 'content schema up to date');
  }
  // The catalog's events (film.published): written to content.outbox in the film's transaction,
  // relayed to RabbitMQ with publisher confirms.
  const outbox = config.AMQP_URL
    ? new OutboxPublisher({
        pool,
        amqpUrl: config.AMQP_URL,
        exchange: config.CATALOG_EVENTS_EXCHANGE,
        logger,
        pollMs: config.OUTBOX_POLL_MS,
        appId: 'catalog-admin',
      })
    : undefined;
  if (outbox) {
    outbox.start();
    lifecycle.onShutdown('outbox-publisher', () => outbox.stop());
  } else logger.warn('AMQP_URL is not set: catalog events wait in content.outbox');
  // The ops pages: Jaeger's query API and the logs' Elasticsearch, when configured.
  let logs: LogQuery | undefined;
  if (config.OPS_ELASTICSEARCH_URL) {
    const es = new Client({ node: config.OPS_ELASTICSEARCH_URL, requestTimeout: 10_000 });
    lifecycle.onShutdown('ops-elasticsearch', () => es.close());
    logs = new ElasticLogSearch(es, config.OPS_LOGS_INDEX);
  }
  const ops = {
    traces: config.OPS_JAEGER_URL ? new JaegerQuery(config.OPS_JAEGER_URL) : undefined,
    logs,
  };
  // Ended sessions (logout, ...) are refused within about a second.
  const revocations = startRevocationFeed(config, { logger, lifecycle });
  return {
    config,
    logger,
    lifecycle,
    readiness: {
      postgres: () => ping(pool),
      revocations: revocations.check,
      outbox: async () =>
        outbox
          ? {
              detail: `${outbox.connected ? 'connected' : 'not connected'}; ${await outbox.backlog()} waiting`,
            }
          : { detail: 'AMQP_URL not set: events wait in content.outbox' },
    },
    catalog: new CatalogService(new PgCatalogRepository(pool, { onEvents: outbox?.notify })),
    verifier: createTokenVerifier({
      jwksUrl: jwksUrlOf(config),
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      revocations,
    }),
    auth: createAuthClient(config.AUTH_URL),
    ops,
  };
}
