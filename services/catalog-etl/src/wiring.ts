/**
 * Builds every adapter and the ETL once and returns the one dependencies object: PostgreSQL (the
 * catalog and the ETL's state), Elasticsearch (the indices), Redis (catalog-api's cache
 * generation, when REDIS_URL is set), the metrics, the use case and its runner. Each adapter
 * registers its shutdown hook; the runner's, registered last, runs first: the pass in hand
 * finishes its batch before the stores close.
 */
import { Client } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import * as client from 'prom-client';
import type { Lifecycle, ReadinessCheck, ServiceRuntime } from '@cinema/http';
import type { Logger } from '@cinema/logging';
import { createPool, ping } from '@cinema/pg';
import { CacheGeneration } from './adapters/cache.invalidator';
import { ContentRepository } from './adapters/content.repository';
import { EtlMetrics } from './adapters/etl.metrics';
import { SearchIndex } from './adapters/search.index';
import { StateRepository } from './adapters/state.repository';
import type { Config } from './config';
import { Etl } from './domain/etl';
import { Runner } from './domain/runner';

export interface Dependencies {
  logger: Logger;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
  /** The ETL's metrics, served at /metrics beside the process metrics. */
  registry: client.Registry;
  /** The ETL loop: `start()` once the server listens, or `once()` in CronJob mode. */
  runner: Pick<Runner, 'start' | 'once' | 'status'>;
}

export async function wire({
  config,
  logger,
  lifecycle,
}: ServiceRuntime<Config>): Promise<Dependencies> {
  const pool = createPool(config.DATABASE_URL, { max: 4 });
  lifecycle.onShutdown('postgres', () => pool.end());
  const es = new Client({ node: config.ELASTICSEARCH_URL, requestTimeout: 30_000 });
  lifecycle.onShutdown('elasticsearch', () => es.close());
  let cache: CacheGeneration | undefined;
  if (config.REDIS_URL) {
    const redis = new Redis(config.REDIS_URL, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
    redis.on('error', (err) => logger.debug({ err }, 'redis error'));
    lifecycle.onShutdown('redis', async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
    cache = new CacheGeneration(redis, config.CACHE_GENERATION_KEY, logger);
  }

  const registry = new client.Registry();
  const metrics = new EtlMetrics(registry);
  const index = searchIndexOf(es, config);
  const etl = new Etl({
    source: new ContentRepository(pool, config.ETL_SETTLE_MS),
    state: new StateRepository(pool, config.ES_INDEX_PREFIX),
    sink: index,
    cache,
    observer: metrics,
    batchSize: config.ETL_BATCH_SIZE,
  });
  const runner = new Runner(
    etl,
    {
      pollIntervalMs: config.ETL_POLL_INTERVAL_MS,
      retryMinMs: config.ETL_RETRY_MIN_MS,
      retryMaxMs: config.ETL_RETRY_MAX_MS,
      retries: config.ETL_ONCE ? config.ETL_ONCE_RETRIES : Infinity,
      setup: async () => {
        await StateRepository.migrate(pool);
        const created = await index.ensureIndices();
        if (created.length) logger.info({ created }, 'created indices');
      },
    },
    logger,
    metrics,
  );
  lifecycle.onShutdown('etl', () => runner.stop());
  return {
    logger,
    lifecycle,
    registry,
    runner,
    readiness: { postgres: () => ping(pool), elasticsearch: () => index.ping() },
  };
}

/** The indexer as the config describes it (prefix, analyzer, refresh, bulk concurrency). */
export function searchIndexOf(
  es: Client,
  config: Pick<
    Config,
    'ES_INDEX_PREFIX' | 'ES_ANALYZER' | 'ES_REFRESH_INTERVAL' | 'ES_BULK_CONCURRENCY'
  >,
): SearchIndex {
  return new SearchIndex(
    es,
    config.ES_INDEX_PREFIX,
    config.ES_ANALYZER,
    config.ES_REFRESH_INTERVAL,
    config.ES_BULK_CONCURRENCY,
  );
}
