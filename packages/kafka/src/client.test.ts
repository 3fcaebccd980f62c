import { Writable } from 'node:stream';
import { ConfigError, loadConfig, z } from '@cinema/config';
import { createLogger } from '@cinema/logging';
import { Kafka, logLevel } from 'kafkajs';
import { createKafka, KAFKA_DEFAULTS, kafkaOf, kafkaOptions, kafkaShape } from './client';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'svc', level: 'debug', destination: stream }) };
}

const schema = z.object({ ...kafkaShape, KAFKA_CLIENT_ID: z.string().default('svc') });

describe('kafkaShape', () => {
  it('needs the brokers and has defaults for the rest', () => {
    const config = loadConfig(schema, { KAFKA_BROKERS: 'a:9092, b:9092' });
    expect(config).toEqual({
      KAFKA_BROKERS: ['a:9092', 'b:9092'],
      KAFKA_CLIENT_ID: 'svc',
      KAFKA_TOPIC_PREFIX: '',
      KAFKA_TOPIC_PARTITIONS: 3,
      KAFKA_TOPIC_REPLICATION: 1,
      KAFKA_CONNECTION_TIMEOUT_MS: 3_000,
      KAFKA_REQUEST_TIMEOUT_MS: 10_000,
      KAFKA_RETRIES: 3,
      KAFKA_RETRY_INITIAL_MS: 200,
      KAFKA_RETRY_MAX_MS: 2_000,
      KAFKA_LOG_LEVEL: 'warn',
    });
  });

  it('reads every variable and lists every bad one', () => {
    const config = loadConfig(schema, {
      KAFKA_BROKERS: 'k:1',
      KAFKA_TOPIC_PARTITIONS: '12',
      KAFKA_TOPIC_REPLICATION: '-1',
      KAFKA_RETRIES: '0',
      KAFKA_LOG_LEVEL: 'nothing',
    });
    expect(config).toMatchObject({
      KAFKA_TOPIC_PARTITIONS: 12,
      KAFKA_TOPIC_REPLICATION: -1,
      KAFKA_RETRIES: 0,
      KAFKA_LOG_LEVEL: 'nothing',
    });
    let error: ConfigError | undefined;
    try {
      loadConfig(schema, {
        KAFKA_BROKERS: ' , ',
        KAFKA_TOPIC_PARTITIONS: '0',
        KAFKA_TOPIC_REPLICATION: '0',
        KAFKA_RETRY_MAX_MS: 'soon',
        KAFKA_LOG_LEVEL: 'loud',
      });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'KAFKA_BROKERS',
      'KAFKA_LOG_LEVEL',
      'KAFKA_RETRY_MAX_MS',
      'KAFKA_TOPIC_PARTITIONS',
      'KAFKA_TOPIC_REPLICATION',
    ]);
  });
});

describe('createKafka', () => {
  it('gives kafkajs the brokers, client id, timeouts and retry settings of the config', () => {
    const { logger } = capture();
    const config = loadConfig(schema, {
      KAFKA_BROKERS: 'k:9092',
      KAFKA_CLIENT_ID: 'catalog-api',
      KAFKA_CONNECTION_TIMEOUT_MS: '1500',
      KAFKA_REQUEST_TIMEOUT_MS: '7000',
      KAFKA_RETRIES: '9',
      KAFKA_RETRY_INITIAL_MS: '50',
      KAFKA_RETRY_MAX_MS: '800',
      KAFKA_LOG_LEVEL: 'info',
    });
    expect(kafkaOptions(config, logger)).toEqual({
      clientId: 'catalog-api',
      brokers: ['k:9092'],
      connectionTimeout: 1500,
      requestTimeout: 7000,
      retry: { retries: 9, initialRetryTime: 50, maxRetryTime: 800 },
      logLevel: logLevel.INFO,
      logCreator: expect.any(Function),
    });
    expect(createKafka(config, logger)).toBeInstanceOf(Kafka);
  });

  it('falls back to the defaults for settings a caller leaves out', () => {
    const { logger } = capture();
    const options = kafkaOptions({ KAFKA_BROKERS: ['k:1'], KAFKA_CLIENT_ID: 'tool' }, logger);
    expect(options).toMatchObject({
      connectionTimeout: KAFKA_DEFAULTS.connectionTimeoutMs,
      requestTimeout: KAFKA_DEFAULTS.requestTimeoutMs,
      retry: {
        retries: KAFKA_DEFAULTS.retries,
        initialRetryTime: KAFKA_DEFAULTS.retryInitialMs,
        maxRetryTime: KAFKA_DEFAULTS.retryMaxMs,
      },
      logLevel: logLevel.WARN,
    });
    expect(kafkaOf({ brokers: ['k:1'], clientId: 'tool' }, logger)).toBeInstanceOf(Kafka);
    const kafka = createKafka({ KAFKA_BROKERS: ['k:1'], KAFKA_CLIENT_ID: 'svc' }, logger);
    expect(kafkaOf({ kafka }, logger)).toBe(kafka);
  });

  it("writes kafkajs's logs into the pino logger, at their level, fields under `kafka`", () => {
    const { lines, logger } = capture();
    const log = kafkaOptions({ KAFKA_BROKERS: ['k:1'], KAFKA_CLIENT_ID: 'svc' }, logger)
      .logCreator!(logLevel.DEBUG);
    const entry = (level: logLevel, message: string, extra: object = {}) =>
      log({
        namespace: 'Connection',
        level,
        label: 'x',
        log: { timestamp: '2025-01-01T00:00:00.000Z', logger: 'kafkajs', message, ...extra },
      });
    entry(logLevel.ERROR, 'Connection error', { broker: 'k:1', error: 'ECONNREFUSED' });
    entry(logLevel.WARN, 'slow');
    entry(logLevel.INFO, 'joined', { groupId: 'g' });
    entry(logLevel.DEBUG, 'fetch');
    expect(lines.map((l) => [l['log.level'], l.message])).toEqual([
      ['error', 'Connection error'],
      ['warn', 'slow'],
      ['info', 'joined'],
      ['debug', 'fetch'],
    ]);
    expect(lines[0]).toMatchObject({
      'service.name': 'svc',
      'log.logger': 'kafkajs',
      kafka: { namespace: 'Connection', broker: 'k:1', error: 'ECONNREFUSED' },
    });
    expect(lines[0]!.kafka).not.toHaveProperty('timestamp');
    expect(lines[2]).toMatchObject({ kafka: { namespace: 'Connection', groupId: 'g' } });
  });
});
