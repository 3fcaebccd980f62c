/**
 * catalog-api test wiring: the app built in-process with real adapters, one dependencies object
 * as `wiring.ts` builds it, tokens verified against a JWKS on loopback (`startTestIssuer` of
 * @cinema/testing: the verification path is the same as against the auth service).
 */
import { Client } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import * as client from 'prom-client';
import { createTokenVerifier } from '@cinema/auth';
import { createLogger } from '@cinema/logging';
import { RedisAnswerCache } from '../src/adapters/cache.repository';
import { PageViewProducer } from '../src/adapters/page-views.producer';
import { SearchRepository } from '../src/adapters/search.repository';
import { buildApp } from '../src/app';
import { CatalogService } from '../src/domain/catalog';
import type { Dependencies } from '../src/wiring';

export const logger = createLogger({
  service: 'catalog-api-test',
  level: (process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'silent',
});

/** The in-process cache's generation check interval in the tests (the service's default). */
export const LOCAL_CHECK_MS = 100;

export interface ApiOptions {
  prefix: string;
  jwksUrl: string;
  esUrl?: string;
  redisUrl?: string;
  brokers?: string[];
  topicPrefix: string;
  generationKey: string;
  cachePrefix: string;
  bufferSize?: number;
  ttlSeconds?: number;
  /** In-process cache: generation check interval (ms) and size (0: Redis only). */
  localCheckMs?: number;
  localMaxEntries?: number;
  /** Redis command timeout (ms); the service's is 500. */
  redisTimeoutMs?: number;
}

export function makeApi(o: ApiOptions) {
  const registry = new client.Registry();
  const es = new Client({
    node: o.esUrl ?? process.env.ELASTICSEARCH_URL!,
    requestTimeout: 2000,
    maxRetries: 0,
  });
  const redis = new Redis(o.redisUrl ?? process.env.REDIS_URL!, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    commandTimeout: o.redisTimeoutMs ?? 500,
    lazyConnect: false,
  });
  redis.on('error', () => undefined);
  const producer = new PageViewProducer(
    {
      brokers: o.brokers ?? process.env.KAFKA_BROKERS!.split(','),
      clientId: 'catalog-api-test',
      topicPrefix: o.topicPrefix,
      bufferSize: o.bufferSize ?? 10_000,
      flushMs: 50,
    },
    logger,
    registry,
  );
  producer.start();
  const search = new SearchRepository(es, o.prefix);
  const cache = new RedisAnswerCache(
    redis,
    {
      prefix: o.cachePrefix,
      generationKey: o.generationKey,
      ttlSeconds: o.ttlSeconds ?? 60,
      localCheckMs: o.localCheckMs ?? LOCAL_CHECK_MS,
      localMaxEntries: o.localMaxEntries,
    },
    logger,
    registry,
  );
  const deps: Dependencies = {
    config: { CORS_ORIGINS: ['http://cors.example'], BODY_LIMIT: '100kb' },
    logger,
    registry,
    verifier: createTokenVerifier({
      jwksUrl: o.jwksUrl,
      issuer: 'cinema-auth',
      audience: 'cinema',
    }),
    catalog: new CatalogService(search, cache),
    pageViews: producer,
    answers: cache,
    readiness: { elasticsearch: () => search.ping() },
  };
  const app = buildApp(deps);
  return {
    app,
    registry,
    producer,
    redis,
    async close() {
      await producer.close();
      redis.disconnect();
      await es.close();
    },
  };
}

/** The value of a counter (summed over the given label filter) from the registry. */
export async function counter(
  registry: client.Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l))
    .reduce((a, v) => a + v.value, 0);
}
