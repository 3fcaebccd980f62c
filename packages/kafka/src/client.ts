/**
 * The Kafka client of a service, from its config: brokers, client id, timeouts and the retry
 * settings of kafkajs (exponential backoff from `KAFKA_RETRY_INITIAL_MS` up to
 * `KAFKA_RETRY_MAX_MS`, `KAFKA_RETRIES` times), with kafkajs's own logs written to the service's
 * pino logger (`log.logger: kafkajs`, details under `kafka`).
 */
import { duration, list, z } from '@cinema/config';
import type { Logger } from '@cinema/logging';
import {
  Kafka,
  logLevel,
  type KafkaConfig as KafkaJsConfig,
  type LogEntry,
  type logCreator,
} from 'kafkajs';

const LOG_LEVELS = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
} as const;

export type KafkaLogLevel = keyof typeof LOG_LEVELS;

/** Defaults of the settings below, also used when a caller leaves one out. */
export const KAFKA_DEFAULTS = {
  connectionTimeoutMs: 3_000,
  requestTimeoutMs: 10_000,
  retries: 3,
  retryInitialMs: 200,
  retryMaxMs: 2_000,
  logLevel: 'warn' as KafkaLogLevel,
  topicPartitions: 3,
  topicReplication: 1,
};

/**
 * The Kafka variables every service that talks to Kafka reads; spread into the service's schema
 * (after `baseShape`), overriding `KAFKA_CLIENT_ID` with the service's own default.
 */
export const kafkaShape = {
  /** Comma list of host:port. */
  KAFKA_BROKERS: list().refine((v) => v.length > 0, 'at least one host:port'),
  KAFKA_CLIENT_ID: z.string().min(1).default('cinema'),
  /** Prepended to every topic name (isolates test runs); empty in production. */
  KAFKA_TOPIC_PREFIX: z.string().default(''),
  /** Partitions and replication of the topics a service creates when they are missing. */
  KAFKA_TOPIC_PARTITIONS: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(KAFKA_DEFAULTS.topicPartitions),
  /** -1: the broker's `default.replication.factor`. */
  KAFKA_TOPIC_REPLICATION: z.coerce
    .number()
    .int()
    .min(-1)
    .max(10)
    .refine((v) => v !== 0, 'at least 1, or -1 for the broker default')
    .default(KAFKA_DEFAULTS.topicReplication),
  KAFKA_CONNECTION_TIMEOUT_MS: duration(KAFKA_DEFAULTS.connectionTimeoutMs),
  KAFKA_REQUEST_TIMEOUT_MS: duration(KAFKA_DEFAULTS.requestTimeoutMs),
  /** Retries of a failed request (kafkajs's `retry.retries`); 0: none. */
  KAFKA_RETRIES: z.coerce.number().int().min(0).max(1000).default(KAFKA_DEFAULTS.retries),
  /** First wait before a retry; it roughly doubles each time, up to KAFKA_RETRY_MAX_MS. */
  KAFKA_RETRY_INITIAL_MS: duration(KAFKA_DEFAULTS.retryInitialMs),
  KAFKA_RETRY_MAX_MS: duration(KAFKA_DEFAULTS.retryMaxMs),
  /** The least severe of kafkajs's own logs that reach the service's log. */
  KAFKA_LOG_LEVEL: z
    .enum(Object.keys(LOG_LEVELS) as [KafkaLogLevel, ...KafkaLogLevel[]])
    .default(KAFKA_DEFAULTS.logLevel),
};

export const kafkaSchema = z.object(kafkaShape);
export type KafkaConfig = z.infer<typeof kafkaSchema>;

/** What `createKafka` reads: brokers and client id; the rest falls back to `KAFKA_DEFAULTS`. */
export type KafkaClientConfig = {
  KAFKA_BROKERS: readonly string[];
  KAFKA_CLIENT_ID: string;
} & Partial<
  Pick<
    KafkaConfig,
    | 'KAFKA_CONNECTION_TIMEOUT_MS'
    | 'KAFKA_REQUEST_TIMEOUT_MS'
    | 'KAFKA_RETRIES'
    | 'KAFKA_RETRY_INITIAL_MS'
    | 'KAFKA_RETRY_MAX_MS'
    | 'KAFKA_LOG_LEVEL'
  >
>;

type PinoLevel = 'error' | 'warn' | 'info' | 'debug';

function pinoLevel(level: logLevel): PinoLevel {
  if (level <= logLevel.ERROR) return 'error';
  if (level === logLevel.WARN) return 'warn';
  if (level === logLevel.INFO) return 'info';
  return 'debug';
}

/** kafkajs's log creator writing into `logger`: the message as is, its fields under `kafka`. */
export function kafkaLogCreator(logger: Logger): logCreator {
  const target = logger.child({ 'log.logger': 'kafkajs' });
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      // kafkajs's own timestamp and logger name are dropped: pino writes its own.
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
      const { message, timestamp, logger: _name, ...fields } = log;
      target[pinoLevel(level)]({ kafka: { namespace, ...fields } }, message);
    };
}

/** The options `createKafka` gives kafkajs (exposed for tests). */
export function kafkaOptions(config: KafkaClientConfig, logger: Logger): KafkaJsConfig {
  return {
    clientId: config.KAFKA_CLIENT_ID,
    brokers: [...config.KAFKA_BROKERS],
    connectionTimeout: config.KAFKA_CONNECTION_TIMEOUT_MS ?? KAFKA_DEFAULTS.connectionTimeoutMs,
    requestTimeout: config.KAFKA_REQUEST_TIMEOUT_MS ?? KAFKA_DEFAULTS.requestTimeoutMs,
    retry: {
      retries: config.KAFKA_RETRIES ?? KAFKA_DEFAULTS.retries,
      initialRetryTime: config.KAFKA_RETRY_INITIAL_MS ?? KAFKA_DEFAULTS.retryInitialMs,
      maxRetryTime: config.KAFKA_RETRY_MAX_MS ?? KAFKA_DEFAULTS.retryMaxMs,
    },
    logLevel: LOG_LEVELS[config.KAFKA_LOG_LEVEL ?? KAFKA_DEFAULTS.logLevel],
    logCreator: kafkaLogCreator(logger),
  };
}

/** A service's Kafka client: build it once in wiring and hand it to the Kafka adapters. */
export function createKafka(config: KafkaClientConfig, logger: Logger): Kafka {
  return new Kafka(kafkaOptions(config, logger));
}

/**
 * What a Kafka adapter is given: the service's client (`createKafka(config, logger)`), or brokers
 * and a client id, from which it builds a client with the default settings (tests, tools).
 */
export type KafkaSource =
  { kafka: Kafka } | { kafka?: undefined; brokers: readonly string[]; clientId: string };

/** The client of a `KafkaSource`. */
export function kafkaOf(source: KafkaSource, logger: Logger): Kafka {
  if (source.kafka) return source.kafka;
  return createKafka({ KAFKA_BROKERS: source.brokers, KAFKA_CLIENT_ID: source.clientId }, logger);
}
