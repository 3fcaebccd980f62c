/** config -> wiring -> listen -> shutdown hooks */
import { createTokenVerifier } from '@cinema/auth';
import { describeConfig, runMain } from '@cinema/config';
import { Lifecycle, listen } from '@cinema/http';
import { createLogger } from '@cinema/logging';
import { shutdownTelemetry } from '@cinema/telemetry';
import { EventProducer } from './adapters/events.producer';
import { buildApp } from './app';
import { jwksUrl, readConfig } from './config';
import { topicNames } from './domain/events';
import { EventIntake } from './domain/intake';

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger({ service: config.SERVICE_NAME, level: config.LOG_LEVEL });
  logger.info({ config: describeConfig(config) }, 'starting');
  const lifecycle = new Lifecycle(logger, config.SHUTDOWN_TIMEOUT_MS);
  lifecycle.onShutdown('telemetry', shutdownTelemetry);
  lifecycle.handleSignals();

  const topics = topicNames(config.KAFKA_TOPIC_PREFIX);
  const producer = new EventProducer({
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID,
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

  const jwks = jwksUrl(config);
  const verify = jwks
    ? createTokenVerifier({
        jwksUrl: jwks,
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
      })
    : undefined;
  if (!jwks) logger.warn('no AUTH_JWKS_URL or AUTH_URL: only anonymous viewers are accepted');
  const intake = new EventIntake({ sink: producer, topics, verify });

  const app = buildApp({
    config,
    logger,
    lifecycle,
    intake,
    readiness: { kafka: () => producer.check() },
  });
  await listen(app, {
    port: config.PORT,
    host: config.HOST,
    lifecycle,
    logger,
    name: 'ugc-collector',
  });
}

runMain('ugc-collector', main);
