/**
 * catalog-api test wiring: a JWKS on loopback with our own key pair (the verification path is
 * the same as against the auth service), the app built in-process with real adapters.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import * as client from 'prom-client';
import { createTokenVerifier } from '@cinema/auth';
import { createLogger } from '@cinema/logging';
import { AnswerReplay } from '../src/api/answer-replay';
import { RedisAnswerCache } from '../src/adapters/cache.repository';
import { PageViewProducer } from '../src/adapters/page-views.producer';
import { SearchRepository } from '../src/adapters/search.repository';
import { buildApp } from '../src/app';
import { CatalogService } from '../src/domain/catalog';

export const logger = createLogger({
  service: 'catalog-api-test',
  level: (process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'silent',
});

export interface Issuer {
  jwksUrl: string;
  token(claims?: { sub?: string; roles?: string[] }): Promise<string>;
  close(): Promise<void>;
}

export async function startIssuer(): Promise<Issuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    token: (claims = {}) => sign(privateKey, kid, claims),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function sign(key: KeyLike, kid: string, claims: { sub?: string; roles?: string[] }) {
  return new SignJWT({ roles: claims.roles ?? ['public_user'], typ: 'access', sid: randomUUID() })
    .setProtectedHeader({ alg: 'RS256', kid })
    .setIssuer('cinema-auth')
    .setAudience('cinema')
    .setSubject(claims.sub ?? randomUUID())
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key);
}

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
  /** Replay of cached answers ahead of Express, as main.ts wires it (default on). */
  replay?: boolean;
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
    commandTimeout: 500,
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
  const tokenVerifier = createTokenVerifier({
    jwksUrl: o.jwksUrl,
    issuer: 'cinema-auth',
    audience: 'cinema',
  });
  const app = buildApp({
    config: { CORS_ORIGINS: ['http://cors.example'], BODY_LIMIT: '100kb' },
    logger,
    registry,
    catalog: new CatalogService(search, cache),
    tokenVerifier,
    pageViews: producer,
    replay:
      o.replay === false
        ? undefined
        : new AnswerReplay({
            cache,
            verifier: tokenVerifier,
            pageViews: producer,
            logger,
            maxEntries: o.localMaxEntries ?? 10_000,
            registry,
          }),
    readiness: { elasticsearch: () => search.ping() },
  });
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
