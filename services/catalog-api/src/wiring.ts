/**
 * Builds every adapter and use case once and returns the one dependencies object the app serves
 * (controllers get it by constructor through tsoa's IoC module in @cinema/http). Each adapter
 * registers its own shutdown hook on the lifecycle.
 */
import { Client } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import * as client from 'prom-client';
import { createTokenVerifier, startRevocationFeed, type AuthDependencies } from '@cinema/auth';
import { jwksUrlOf } from '@cinema/config';
import type { Lifecycle, ReadinessCheck, ServiceRuntime } from '@cinema/http';
import { createKafka } from '@cinema/kafka';
import type { Logger } from '@cinema/logging';
import { RedisAnswerCache, type SerialisedAnswers } from './adapters/cache.repository';
import { PageViewProducer } from './adapters/page-views.producer';
import { SearchRepository } from './adapters/search.repository';
import type { PageViewSink } from './api/page-views';
import type { Config } from './config';
import { CatalogService } from './domain/catalog';

export interface Dependencies extends AuthDependencies {
  config: Pick<Config, 'CORS_ORIGINS' | 'BODY_LIMIT'>;
  logger: Logger;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
  /** Where the app's and the adapters' metrics go (served on /metrics). */
  registry: client.Registry;
  catalog: CatalogService;
  pageViews: PageViewSink;
  /** The JSON bytes the cache kept with an answer, written as they are (app.ts). */
  answers: SerialisedAnswers;
}

export async function wire({
  config,
  logger,
  lifecycle,
}: ServiceRuntime<Config>): Promise<Dependencies> {
  const registry = new client.Registry();

  const es = new Client({ node: config.ELASTICSEARCH_URL, requestTimeout: config.ES_TIMEOUT_MS });
  lifecycle.onShutdown('elasticsearch', () => es.close());
  const search = new SearchRepository(es, config.ES_INDEX_PREFIX);

  const redis = new Redis(config.REDIS_URL, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    commandTimeout: 500,
  });
  redis.on('error', (err) => logger.debug({ err }, 'redis error'));
  lifecycle.onShutdown('redis', async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  const cache = new RedisAnswerCache(
    redis,
    {
      prefix: config.CACHE_KEY_PREFIX,
      generationKey: config.CACHE_GENERATION_KEY,
      ttlSeconds: config.CACHE_TTL_SECONDS,
      localMaxEntries: config.CACHE_LOCAL_MAX_ENTRIES,
      localCheckMs: config.CACHE_LOCAL_CHECK_MS,
    },
    logger,
    registry,
  );

  const pageViews = new PageViewProducer(
    {
      kafka: createKafka(config, logger),
      topicPrefix: config.KAFKA_TOPIC_PREFIX,
      partitions: config.KAFKA_TOPIC_PARTITIONS,
      replicationFactor: config.KAFKA_TOPIC_REPLICATION,
      bufferSize: config.PAGE_VIEW_BUFFER_SIZE,
      flushMs: config.PAGE_VIEW_FLUSH_MS,
    },
    logger,
    registry,
  );
  // Connects (and creates the topics) in the background: answers never wait for Kafka.
  pageViews.start();
  lifecycle.onShutdown('kafka', () => pageViews.close());

  // Ended sessions (logout, ...) are refused within about a second.
  const revocations = startRevocationFeed(config, { logger, lifecycle });
  return {
    config,
    logger,
    lifecycle,
    registry,
    verifier: createTokenVerifier({
      jwksUrl: jwksUrlOf(config),
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      revocations,
    }),
    catalog: new CatalogService(search, cache),
    pageViews,
    answers: cache,
    // Redis and Kafka degrade (no cache, events counted as failed): only the index is required.
    readiness: { elasticsearch: () => search.ping(), revocations: revocations.check },
  };
}
