/**
 * config -> wiring -> listen -> shutdown hooks. `--once` (or ETL_ONCE=true) runs until caught up
 * and exits (Kubernetes CronJob); otherwise it polls forever (Deployment).
 */
import { Client } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import * as client from 'prom-client';
import { describeConfig, runMain } from '@cinema/config';
import { Lifecycle, listen } from '@cinema/http';
import { createLogger } from '@cinema/logging';
import { createPool, ping } from '@cinema/pg';
import { shutdownTelemetry } from '@cinema/telemetry';
import { CacheGeneration } from './adapters/cache.invalidator';
import { ContentRepository } from './adapters/content.repository';
import { SearchIndex } from './adapters/search.index';
import { StateRepository } from './adapters/state.repository';
import { buildApp } from './app';
import { readConfig } from './config';
import { Etl } from './domain/etl';
import { EtlMetrics, Runner } from './runner';

async function main(): Promise<void> {
  const config = readConfig();
  const once = config.ETL_ONCE || process.argv.includes('--once');
  const logger = createLogger({ service: config.SERVICE_NAME, level: config.LOG_LEVEL });
  logger.info({ config: describeConfig(config), once }, 'starting');
  const lifecycle = new Lifecycle(logger, config.SHUTDOWN_TIMEOUT_MS);
  lifecycle.onShutdown('telemetry', shutdownTelemetry);

  const pool = createPool(config.DATABASE_URL, { max: 4 });
  lifecycle.onShutdown('postgres', () => pool.end());
  const es = new Client({ node: config.ELASTICSEARCH_URL, requestTimeout: 30_000 });
  lifecycle.onShutdown('elasticsearch', () => es.close());
  let redis: Redis | undefined;
  if (config.REDIS_URL) {
    redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    redis.on('error', (err) => logger.debug({ err }, 'redis error'));
    lifecycle.onShutdown('redis', async () => {
      await redis!.quit().catch(() => redis!.disconnect());
    });
  }

  const registry = new client.Registry();
  const metrics = new EtlMetrics(registry);
  const sink = new SearchIndex(
    es,
    config.ES_INDEX_PREFIX,
    config.ES_ANALYZER,
    config.ES_REFRESH_INTERVAL,
  );
  const etl = new Etl({
    source: new ContentRepository(pool, config.ETL_SETTLE_MS),
    state: new StateRepository(pool, config.ES_INDEX_PREFIX),
    sink,
    cache: redis ? new CacheGeneration(redis, config.CACHE_GENERATION_KEY, logger) : undefined,
    observer: metrics,
    batchSize: config.ETL_BATCH_SIZE,
  });
  const runner = new Runner(
    etl,
    {
      pollIntervalMs: config.ETL_POLL_INTERVAL_MS,
      retryMinMs: config.ETL_RETRY_MIN_MS,
      retryMaxMs: config.ETL_RETRY_MAX_MS,
      retries: once ? config.ETL_ONCE_RETRIES : Infinity,
    },
    logger,
    metrics,
  );

  // Setting up (state table, indices) is retried like a pass: the stores may be starting too.
  const setup = async () => {
    await StateRepository.migrate(pool);
    const created = await sink.ensureIndices();
    if (created.length) logger.info({ created }, 'created indices');
  };

  if (once) {
    lifecycle.handleSignals();
    await runner.retrying(setup);
    const result = await runner.once();
    logger.info(result, 'caught up');
    await lifecycle.shutdown('done');
    process.exit(0);
  }

  const app = buildApp({
    logger,
    lifecycle,
    registry,
    readiness: { postgres: () => ping(pool), elasticsearch: () => sink.ping() },
  });
  lifecycle.onShutdown('etl', () => runner.stop());
  lifecycle.handleSignals();
  await listen(app, {
    port: config.PORT,
    host: config.HOST,
    lifecycle,
    logger,
    name: 'catalog-etl',
  });
  await runner.retrying(setup);
  runner.start();
}

runMain('catalog-etl', main);
