/**
 * Builds every adapter once and returns the one dependencies object the app serves (controllers
 * get it by constructor through tsoa's IoC module in @cinema/http): the ClickHouse client (a
 * server URL or embedded chDB), the schema, the batched sink, the Kafka consumer and the
 * analytics reader over the same client (one chDB path per process).
 */
import {
  createAuthClient,
  createTokenVerifier,
  type AuthClient,
  startRevocationFeed,
  type AuthDependencies,
  type TokenVerifier,
} from '@cinema/auth';
import { createClickHouse, type ClickHouseClient } from '@cinema/clickhouse';
import { jwksUrlOf } from '@cinema/config';
import { UnauthorizedError } from '@cinema/errors';
import type { Lifecycle, ReadinessCheck, ServiceRuntime } from '@cinema/http';
import { createKafka, type KafkaClientConfig } from '@cinema/kafka';
import type { Logger } from '@cinema/logging';
import { AnalyticsRepository } from './adapters/analytics.repository';
import { ChartsRepository } from './adapters/charts.repository';
import { ClickHouseSink } from './adapters/clickhouse.sink';
import { EventLoader } from './adapters/events.consumer';
import { createSchema } from './adapters/schema';
import type { Config } from './config';
import type { AnalyticsReader } from './domain/analytics';
import type { ChartReader } from './domain/charts';

export type LoaderConfig = Pick<
  Config,
  | 'KAFKA_BROKERS'
  | 'KAFKA_CLIENT_ID'
  | 'KAFKA_GROUP_ID'
  | 'KAFKA_TOPIC_PREFIX'
  | 'KAFKA_TOPIC_PARTITIONS'
  | 'KAFKA_TOPIC_REPLICATION'
  | 'CLICKHOUSE_URL'
  | 'CHDB_PATH'
  | 'CLICKHOUSE_DATABASE'
  | 'BATCH_MAX_ROWS'
  | 'BATCH_MAX_WAIT_MS'
> &
  KafkaClientConfig &
  Partial<
    Pick<
      Config,
      'KAFKA_FETCH_MAX_BYTES' | 'KAFKA_FETCH_MAX_BYTES_PER_PARTITION' | 'CLICKHOUSE_CLUSTER'
    >
  >;

/** The loader's adapters over one ClickHouse client. */
export interface Loader {
  ch: ClickHouseClient;
  sink: ClickHouseSink;
  consumer: EventLoader;
  analytics: AnalyticsRepository;
  charts: ChartsRepository;
  /** Starts consuming (resolves once subscribed; keeps retrying while Kafka is away). */
  start(): Promise<void>;
  /** Stops fetching and drains: inserts what waits, lets the batches in hand commit, closes. */
  stop(): Promise<void>;
}

export interface Dependencies extends AuthDependencies {
  config: Pick<Config, 'CORS_ORIGINS' | 'BODY_LIMIT'>;
  logger: Logger;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
  analytics: AnalyticsReader;
  /** The analytics page's charts (its JSON endpoints and the page read the same methods). */
  charts: ChartReader;
  /** The analytics page's login through auth; without it the page answers 503. */
  page?: { auth: AuthClient; secureCookies: boolean };
  /** The consumer loop, started once the server listens (main.ts). */
  loader: Pick<Loader, 'start'>;
}

export async function wire({
  config,
  logger,
  lifecycle,
}: ServiceRuntime<Config>): Promise<Dependencies> {
  // A consumer kafkajs will not restart stops the service (exit 1: restarted by the platform).
  const loader = await wireLoader(config, logger, (err) =>
    lifecycle.fail('the Kafka consumer stopped and will not restart', err),
  );
  lifecycle.onShutdown('loader', () => loader.stop());
  const jwks = jwksUrlOf(config);
  if (!jwks) logger.warn('no AUTH_JWKS_URL or AUTH_URL: the analytics API answers 401');
  // Ended sessions (logout, ...) are refused within about a second.
  const revocations = jwks ? startRevocationFeed(config, { logger, lifecycle }) : undefined;
  return {
    config,
    logger,
    lifecycle,
    analytics: loader.analytics,
    charts: loader.charts,
    page: jwks
      ? {
          auth: createAuthClient(config.AUTH_URL ?? new URL(jwks).origin),
          secureCookies: config.ANALYTICS_COOKIE_SECURE,
        }
      : undefined,
    verifier: jwks
      ? createTokenVerifier({
          jwksUrl: jwks,
          issuer: config.JWT_ISSUER,
          audience: config.JWT_AUDIENCE,
          revocations,
        })
      : noVerifier,
    loader: {
      // A loader that cannot start takes the service down (draining first), as a failed start.
      start: () =>
        loader.start().catch(async (err: unknown) => {
          await lifecycle.shutdown('the loader could not start');
          throw err;
        }),
    },
    readiness: {
      kafka: () => loader.consumer.check(),
      clickhouse: async () => {
        if (!(await loader.ch.ping()).success) throw new Error('clickhouse ping failed');
      },
      ...(revocations && { revocations: revocations.check }),
    },
  };
}

/** Without a JWKS no token can be verified: the read API answers 401. */
const noVerifier: TokenVerifier = () =>
  Promise.reject(new UnauthorizedError('access tokens cannot be verified: no JWKS configured'));

export async function wireLoader(
  config: LoaderConfig,
  logger: Logger,
  onFatal?: (err: Error) => void,
): Promise<Loader> {
  const ch = createClickHouse({
    url: config.CLICKHOUSE_URL,
    path: config.CHDB_PATH,
    client: {
      clickhouse_settings: {
        date_time_input_format: 'best_effort',
        // Batches are ~1 MB: parsing them in parallel chunks gains nothing.
        input_format_parallel_parsing: 0,
      },
    },
  });
  await createSchema(ch, config.CLICKHOUSE_DATABASE, config.CLICKHOUSE_CLUSTER);
  const sink = new ClickHouseSink(ch, {
    database: config.CLICKHOUSE_DATABASE,
    maxRows: config.BATCH_MAX_ROWS,
    maxWaitMs: config.BATCH_MAX_WAIT_MS,
    logger,
  });
  const consumer = new EventLoader({
    // The client with the config's timeouts and retries (KAFKA_* of @cinema/kafka).
    kafka: createKafka(config, logger),
    groupId: config.KAFKA_GROUP_ID,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: config.KAFKA_TOPIC_REPLICATION,
    fetchMaxBytes: config.KAFKA_FETCH_MAX_BYTES,
    fetchMaxBytesPerPartition: config.KAFKA_FETCH_MAX_BYTES_PER_PARTITION,
    sink,
    logger,
    onFatal,
  });
  return {
    ch,
    sink,
    consumer,
    analytics: new AnalyticsRepository(ch, config.CLICKHOUSE_DATABASE),
    charts: new ChartsRepository(ch, config.CLICKHOUSE_DATABASE),
    start: () => consumer.start(),
    stop: async () => {
      // The consumer's disconnect waits for the batches in hand, and those wait for their insert:
      // insert what waits now rather than when the batch timer fires.
      await Promise.all([consumer.close(), sink.drain()]);
      await sink.drain();
      await ch.close();
    },
  };
}
