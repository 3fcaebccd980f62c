/** config -> wiring -> listen -> shutdown hooks */
import { Client } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import * as client from 'prom-client';
import { createTokenVerifier } from '@cinema/auth';
import { describeConfig, runMain } from '@cinema/config';
import { Lifecycle, listen } from '@cinema/http';
import { createLogger } from '@cinema/logging';
import { shutdownTelemetry } from '@cinema/telemetry';
import { RedisAnswerCache } from './adapters/cache.repository';
import { AnswerReplay } from './api/answer-replay';
import { PageViewProducer } from './adapters/page-views.producer';
import { SearchRepository } from './adapters/search.repository';
import { buildApp } from './app';
import { jwksUrl, readConfig } from './config';
import { CatalogService } from './domain/catalog';

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger({ service: config.SERVICE_NAME, level: config.LOG_LEVEL });
  logger.info({ config: describeConfig(config) }, 'starting');
  const lifecycle = new Lifecycle(logger, config.SHUTDOWN_TIMEOUT_MS);
  lifecycle.onShutdown('telemetry', shutdownTelemetry);
  const registry = new client.Registry();

  const es = new Client({ node: config.ELASTICSEARCH_URL, requestTimeout: config.ES_TIMEOUT_MS });
  lifecycle.onShutdown('elasticsearch', () => es.close());
  const redis = new Redis(config.REDIS_URL, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    commandTimeout: 500,
  });
  redis.on('error', (err) => logger.debug({ err }, 'redis error'));
  lifecycle.onShutdown('redis', async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  const producer = new PageViewProducer(
    {
      brokers: config.KAFKA_BROKERS,
      clientId: config.KAFKA_CLIENT_ID,
      topicPrefix: config.PAGE_VIEW_TOPIC_PREFIX,
      bufferSize: config.PAGE_VIEW_BUFFER_SIZE,
      flushMs: config.PAGE_VIEW_FLUSH_MS,
    },
    logger,
    registry,
  );
  producer.start();
  lifecycle.onShutdown('kafka', () => producer.close());

  const search = new SearchRepository(es, config.ES_INDEX_PREFIX);
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
  lifecycle.handleSignals();
  const tokenVerifier = createTokenVerifier({
    jwksUrl: jwksUrl(config),
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  });
  const app = buildApp({
    config,
    logger,
    lifecycle,
    registry,
    catalog: new CatalogService(search, cache),
    tokenVerifier,
    pageViews: producer,
    replay: new AnswerReplay({
      cache,
      verifier: tokenVerifier,
      pageViews: producer,
      logger,
      maxEntries: config.CACHE_LOCAL_MAX_ENTRIES,
      registry,
    }),
    // Redis and Kafka degrade (no cache, events counted as failed): only the index is required.
    readiness: { elasticsearch: () => search.ping() },
  });
  await listen(app, {
    port: config.PORT,
    host: config.HOST,
    lifecycle,
    logger,
    name: 'catalog-api',
  });
}

runMain('catalog-api', main);
