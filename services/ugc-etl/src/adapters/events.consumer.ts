/**
 * The Kafka side of the ETL: one consumer group over the click topics and the page-view topics.
 * Each partition's batch goes through the domain's BatchLoader (domain/loading.ts: parse, dead
 * letters to the dead-letter topic acknowledged by Kafka, rows to the ClickHouse sink); the
 * batch's offsets are resolved, hence committed, only after that resolved (the rows are stored).
 * A crash between insert and commit redelivers rows that the tables' dedup key collapses.
 */
import { Partitioners, type Consumer, type Kafka, type Producer } from 'kafkajs';
import { ensureTopics, kafkaOf, withAdmin, type KafkaSource } from '@cinema/kafka';
import type { Logger } from '@cinema/logging';
import { SpanKind, traceFanIn, withMessageOrigins } from '@cinema/telemetry';
import { BatchLoader, type RowSink } from '../domain/loading';
import { DEAD_LETTER_TOPIC, TABLES, type TableSpec } from '../domain/tables';

/**
 * `kafka`: the service's client (`createKafka(config, logger)` of @cinema/kafka), or `brokers` and
 * `clientId` for a client with the default settings. Missing topics are created with `partitions`
 * and `replicationFactor`.
 */
export type LoaderOptions = KafkaSource & {
  groupId: string;
  topicPrefix: string;
  partitions: number;
  replicationFactor: number;
  /** Bounds of one fetch (all partitions, each partition); 2 MiB and 512 KiB by default. */
  fetchMaxBytes?: number;
  fetchMaxBytesPerPartition?: number;
  sink: RowSink;
  logger: Logger;
  /**
   * The consumer crashed and kafkajs will not restart it (e.g. no group coordinator while a new
   * broker makes `__consumer_offsets`): the service should stop and be started again.
   */
  onFatal?: (err: Error) => void;
};

export interface LoaderStats {
  messages: number;
  deadLetters: number;
}

export class EventLoader {
  private readonly kafka: Kafka;
  private readonly consumer: Consumer;
  private readonly dlq: Producer;
  private readonly specs = new Map<string, TableSpec>();
  private readonly deadLetterTopic: string;
  private readonly batches: BatchLoader;
  private running = false;
  private closed = false;
  readonly stats: LoaderStats = { messages: 0, deadLetters: 0 };

  constructor(private readonly options: LoaderOptions) {
    this.kafka = kafkaOf(options, options.logger);
    for (const spec of TABLES) this.specs.set(`${options.topicPrefix}${spec.topic}`, spec);
    this.deadLetterTopic = `${options.topicPrefix}${DEAD_LETTER_TOPIC}`;
    this.consumer = this.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: 100,
      maxBytes: options.fetchMaxBytes ?? 1024 * 1024,
      maxBytesPerPartition: options.fetchMaxBytesPerPartition ?? 256 * 1024,
      // Keep rejoining through broker outages instead of giving up.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5_000 },
    });
    this.dlq = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.batches = new BatchLoader({
      sink: options.sink,
      deadLetters: {
        send: async (messages) => {
          await this.dlq.send({ topic: this.deadLetterTopic, acks: -1, messages });
        },
      },
    });
    const { CRASH, STOP, GROUP_JOIN } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, () => {
      this.running = true;
    });
    this.consumer.on(CRASH, (e) => {
      this.running = false;
      onConsumerCrash(e.payload, this.closed, options);
    });
    this.consumer.on(STOP, () => {
      this.running = false;
    });
  }

  /** Every topic the loader reads and writes. */
  topics(): string[] {
    return [...this.specs.keys(), this.deadLetterTopic];
  }

  private async ensureTopics(): Promise<void> {
    await withAdmin(this.kafka, (admin) =>
      ensureTopics(admin, this.topics(), {
        partitions: this.options.partitions,
        replication: this.options.replicationFactor,
      }),
    );
  }

  /** Connects (retrying until Kafka answers), subscribes and starts consuming. */
  async start(): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        await this.ensureTopics();
        await this.dlq.connect();
        await this.consumer.connect();
        break;
      } catch (err) {
        const waitMs = Math.min(5_000, 200 * attempt);
        this.options.logger.warn({ err, attempt, waitMs }, 'kafka not reachable yet; retrying');
        await new Promise((r) => setTimeout(r, waitMs));
      }
    }
    if (this.closed) return;
    await this.consumer.subscribe({ topics: [...this.specs.keys()], fromBeginning: true });
    await this.consumer.run({
      autoCommit: true,
      autoCommitInterval: 1_000,
      eachBatchAutoResolve: false,
      // Every partition's batch waits for the shared insert; let them all wait together.
      partitionsConsumedConcurrently: Math.max(1, this.specs.size * this.options.partitions),
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
        const spec = this.specs.get(batch.topic);
        if (!spec || !batch.messages.length) return;
        // Short of the partition's end: the fetch size cut the batch and more is waiting.
        const behind = BigInt(batch.highWatermark) - 1n > BigInt(batch.lastOffset());
        // One span for the batch in the consumer's trace, linked to every producing span (from
        // the messages' traceparent headers) and mirrored into each producing trace; the sink's
        // insert span joins them the same way.
        const outcome = await traceFanIn(
          `${batch.topic} process`,
          [withMessageOrigins(batch.messages.map((m) => m.headers))],
          () =>
            this.batches.load(spec, {
              topic: batch.topic,
              partition: batch.partition,
              messages: batch.messages,
              behind,
            }),
          {
            kind: SpanKind.CONSUMER,
            attributes: {
              'messaging.system': 'kafka',
              'messaging.operation': 'process',
              'messaging.destination.name': batch.topic,
              'messaging.destination.partition.id': String(batch.partition),
              'messaging.batch.message_count': batch.messages.length,
            },
          },
        );
        if (outcome.deadLetters) {
          this.stats.deadLetters += outcome.deadLetters;
          this.options.logger.warn(
            { topic: batch.topic, count: outcome.deadLetters },
            'unparseable messages sent to the dead-letter topic',
          );
        }
        resolveOffset(batch.lastOffset());
        this.stats.messages += batch.messages.length;
        await heartbeat();
        await commitOffsetsIfNecessary();
      },
    });
  }

  async check(): Promise<void> {
    if (!this.running) throw new Error('kafka consumer not in its group');
  }

  /** Stops fetching, lets the batch in hand finish (and commit), then disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    await this.consumer.disconnect().catch(() => undefined);
    await this.dlq.disconnect().catch(() => undefined);
  }
}

/**
 * A consumer crash: kafkajs restarts the consumer itself when it can (`restart`); when it will
 * not, the loader would stay connected and never consume again (alive, never ready), so the
 * service is told to stop (`onFatal`). A crash while closing is the close's own doing.
 */
export function onConsumerCrash(
  payload: { error: Error; restart: boolean },
  closed: boolean,
  options: Pick<LoaderOptions, 'logger' | 'onFatal'>,
): void {
  options.logger.warn({ err: payload.error, restart: payload.restart }, 'consumer crashed');
  if (!payload.restart && !closed) options.onFatal?.(payload.error);
}
