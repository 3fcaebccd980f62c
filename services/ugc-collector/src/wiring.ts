/**
 * Builds every adapter and use case once and returns the one dependencies object the app serves
 * (controllers get it by constructor through tsoa's IoC module in @cinema/http).
 *
 * The collector has no `@Security` route: the viewer may be anonymous, and an access token, when
 * one is sent, is verified by the intake use case. So there is no `verifier` here; without a JWKS
 * (neither AUTH_JWKS_URL nor AUTH_URL) only anonymous viewers are accepted.
 */
import { createTokenVerifier, startRevocationFeed, type RevocationFeed } from '@cinema/auth';
import { jwksUrlOf } from '@cinema/config';
import type { Lifecycle, ReadinessCheck, ServiceRuntime } from '@cinema/http';
import { createKafka } from '@cinema/kafka';
import type { Logger } from '@cinema/logging';
import { EventProducer } from './adapters/events.producer';
import type { Config } from './config';
import { topicNames } from './domain/events';
import { EventIntake } from './domain/intake';

export interface Dependencies {
  config: Pick<Config, 'CORS_ORIGINS' | 'BODY_LIMIT' | 'BATCH_MAX_EVENTS'>;
  logger: Logger;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
  intake: EventIntake;
  /** The session revocation feed of the intake's verifier (its metrics; none without a JWKS). */
  revocations?: RevocationFeed;
}

export async function wire({
  config,
  logger,
  lifecycle,
}: ServiceRuntime<Config>): Promise<Dependencies> {
  const topics = topicNames(config.KAFKA_TOPIC_PREFIX);
  const producer = new EventProducer({
    // The client with the config's timeouts, retries and log level (@cinema/kafka).
    kafka: createKafka(config, logger),
    logger,
    topics: Object.values(topics),
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: config.KAFKA_TOPIC_REPLICATION,
    ackTimeoutMs: config.KAFKA_ACK_TIMEOUT_MS,
    maxPending: config.KAFKA_MAX_PENDING,
    producers: config.KAFKA_PRODUCERS,
    maxBatchEvents: config.KAFKA_MAX_BATCH_EVENTS,
  });
  lifecycle.onShutdown('kafka-producer', () => producer.close());
  // Kafka may come up after the service: readiness stays down and sends answer 503 meanwhile.
  void producer.start();

  const jwksUrl = jwksUrlOf(config);
  if (!jwksUrl) logger.warn('no AUTH_JWKS_URL or AUTH_URL: only anonymous viewers are accepted');
  // Ended sessions (logout, ...) are refused within about a second.
  const revocations = jwksUrl ? startRevocationFeed(config, { logger, lifecycle }) : undefined;
  const verify = jwksUrl
    ? createTokenVerifier({
        jwksUrl,
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
        revocations,
      })
    : undefined;

  return {
    config,
    logger,
    lifecycle,
    intake: new EventIntake({ sink: producer, topics, verify }),
    revocations,
    readiness: {
      kafka: () => producer.check(),
      ...(revocations && { revocations: revocations.check }),
    },
  };
}
