/**
 * The Kafka side of the collector: a small pool of idempotent kafkajs producers (`acks=all`,
 * no compression), each behind a group-commit queue. Requests enqueue their records and wait; a
 * producer sends as soon as its previous `sendBatch` returned, carrying everything queued
 * meanwhile (up to `maxBatchEvents`), so concurrent requests share one round trip and nothing
 * waits for a timer. The idempotent producer allows one request in flight per broker, so several
 * producers (`producers`) keep several sends in flight; a record goes to the producer chosen by
 * a hash of its key (the user id), so one user's events are always sent by the same producer,
 * one batch after the other, and keep their order in their partition. A request is answered only
 * when Kafka acknowledged all its records; an outage or a slow broker becomes a
 * `ServiceUnavailableError` (503 with Retry-After) after `ackTimeoutMs`.
 */
import {
  Partitioners,
  type ICustomPartitioner,
  type Kafka,
  type Producer,
  type TopicMessages,
} from 'kafkajs';
import { ServiceUnavailableError } from '@cinema/http';
import { ensureTopics, kafkaOf, withAdmin, type KafkaSource } from '@cinema/kafka';
import type { Logger } from '@cinema/logging';
import {
  captureContext,
  messageOrigin,
  SpanKind,
  tagMessage,
  traceFanIn,
  type Context,
} from '@cinema/telemetry';
import type { EventRecord } from '../domain/events';

/**
 * `kafka`: the service's client (`createKafka(config, logger)` of @cinema/kafka), or `brokers` and
 * `clientId` for a client with the default settings.
 */
export type EventProducerOptions = KafkaSource & {
  logger: Logger;
  /** Topics created at start when missing, with these partitions and replication. */
  topics: readonly string[];
  partitions: number;
  replicationFactor: number;
  ackTimeoutMs: number;
  maxPending: number;
  /** Producers in the pool (sends in flight at once); 1 by default. */
  producers?: number;
  /** Largest number of records in one `sendBatch`; 2,000 by default. */
  maxBatchEvents?: number;
};

/** One request waiting for Kafka: settled once every part of it was acknowledged. */
interface Request {
  remaining: number;
  settled: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** The records of one request that go through one producer. */
interface Part {
  records: EventRecord[];
  request: Request;
  /** The request's trace context: its records carry it to the consumers. */
  origin: Context;
}

interface Lane {
  index: number;
  producer: Producer;
  queue: Part[];
  flushing: boolean;
  connected: boolean;
}

/** Retry-After given with 503s while Kafka is unreachable. */
const RETRY_AFTER_SECONDS = 2;

/**
 * kafkajs's default (Java-compatible murmur2) partitioner, remembering the partition of each
 * key: the hash is computed once per user instead of once per message.
 */
const cachingPartitioner: ICustomPartitioner = () => {
  const inner = Partitioners.DefaultPartitioner();
  const cache = new Map<string, number>();
  return (args) => {
    const { message, partitionMetadata } = args;
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    if (typeof message.key !== 'string') return inner(args);
    const id = `${partitionMetadata.length}:${message.key}`;
    let partition = cache.get(id);
    if (partition === undefined) {
      if (cache.size >= 100_000) cache.clear();
      partition = inner(args);
      cache.set(id, partition);
    }
    return partition;
  };
};

/** FNV-1a of a string: which producer of the pool carries a key. */
function laneOf(key: string, lanes: number): number {
  if (lanes === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % lanes;
}

export class EventProducer {
  private readonly kafka: Kafka;
  private readonly lanes: Lane[];
  private readonly maxBatchEvents: number;
  private queued = 0;
  private topicsReady = false;
  private closed = false;
  private connecting?: Promise<void>;

  constructor(private readonly options: EventProducerOptions) {
    this.kafka = kafkaOf(options, options.logger);
    this.maxBatchEvents = options.maxBatchEvents ?? 2_000;
    this.lanes = Array.from({ length: Math.max(1, options.producers ?? 1) }, (_, index) => {
      const lane: Lane = {
        index,
        producer: undefined as unknown as Producer,
        queue: [],
        flushing: false,
        connected: false,
      };
      lane.producer = this.createProducer(lane);
      return lane;
    });
  }

  private createProducer(lane: Lane): Producer {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: cachingPartitioner,
      // Short retries whatever the client's: a send that outlasts the ack timeout was answered 503.
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    producer.on(producer.events.DISCONNECT, () => {
      if (lane.producer === producer) lane.connected = false;
    });
    return producer;
  }

  /** Connects and creates the topics; keeps trying in the background until it succeeds. */
  start(): Promise<void> {
    if (!this.connecting) {
      this.connecting = (async () => {
        for (let attempt = 1; !this.closed; attempt++) {
          try {
            await this.ensureTopics();
            await Promise.all(
              this.lanes.map(async (lane) => {
                if (lane.connected) return;
                await lane.producer.connect();
                lane.connected = true;
              }),
            );
            this.options.logger.info(
              { topics: this.options.topics, producers: this.lanes.length },
              'kafka producers connected',
            );
            return;
          } catch (err) {
            const waitMs = Math.min(5_000, 200 * attempt);
            this.options.logger.warn({ err, attempt, waitMs }, 'kafka not reachable yet; retrying');
            await new Promise((r) => setTimeout(r, waitMs));
          }
        }
      })().finally(() => {
        this.connecting = undefined;
      });
    }
    return this.connecting;
  }

  private async ensureTopics(): Promise<void> {
    if (this.topicsReady) return;
    const created = await withAdmin(this.kafka, (admin) =>
      ensureTopics(admin, this.options.topics, {
        partitions: this.options.partitions,
        replication: this.options.replicationFactor,
      }),
    );
    if (created.length) this.options.logger.info({ topics: created }, 'kafka topics created');
    this.topicsReady = true;
  }

  /** Readiness: every producer connected and topics in place. */
  async check(): Promise<void> {
    if (!this.topicsReady || !this.lanes.every((l) => l.connected)) {
      throw new Error('kafka producer not connected');
    }
  }

  /** Resolves once Kafka acknowledged every record (acks=all); rejects with a 503 error. */
  send(records: EventRecord[]): Promise<void> {
    if (this.closed) {
      return Promise.reject(new ServiceUnavailableError('shutting down', RETRY_AFTER_SECONDS));
    }
    if (!this.topicsReady) {
      return Promise.reject(
        new ServiceUnavailableError('the event broker is not reachable', RETRY_AFTER_SECONDS),
      );
    }
    if (this.queued + records.length > this.options.maxPending) {
      return Promise.reject(
        new ServiceUnavailableError('too many events waiting for the broker', 1),
      );
    }
    if (!records.length) return Promise.resolve();
    // Usually all records of a request share one key (the viewer): one part, one producer.
    const n = this.lanes.length;
    const first = laneOf(records[0]!.key, n);
    let parts: Map<number, EventRecord[]> | undefined;
    if (n > 1) {
      for (let i = 1; i < records.length; i++) {
        const lane = laneOf(records[i]!.key, n);
        if (lane !== first && !parts) {
          parts = new Map([[first, records.slice(0, i)]]);
        }
        if (parts) {
          let list = parts.get(lane);
          if (!list) parts.set(lane, (list = []));
          list.push(records[i]!);
        }
      }
    }
    return new Promise<void>((resolve, reject) => {
      const request: Request = {
        remaining: parts ? parts.size : 1,
        settled: false,
        resolve: () => undefined,
        reject: () => undefined,
      };
      const timer = setTimeout(() => {
        if (request.settled) return;
        request.settled = true;
        reject(
          new ServiceUnavailableError(
            'the event broker did not acknowledge in time',
            RETRY_AFTER_SECONDS,
          ),
        );
      }, this.options.ackTimeoutMs);
      request.resolve = () => {
        if (request.settled || --request.remaining > 0) return;
        clearTimeout(timer);
        request.settled = true;
        resolve();
      };
      request.reject = (err) => {
        clearTimeout(timer);
        if (request.settled) return;
        request.settled = true;
        reject(err);
      };
      const origin = captureContext();
      if (parts) {
        for (const [lane, list] of parts) this.enqueue(this.lanes[lane]!, list, request, origin);
      } else this.enqueue(this.lanes[first]!, records, request, origin);
    });
  }

  private enqueue(lane: Lane, records: EventRecord[], request: Request, origin: Context): void {
    lane.queue.push({ records, request, origin });
    this.queued += records.length;
    if (!lane.flushing) {
      lane.flushing = true;
      setImmediate(() => void this.flush(lane));
    }
  }

  /** Sends while anything waits: each send takes what queued during the previous one. */
  private async flush(lane: Lane): Promise<void> {
    while (lane.queue.length) {
      // Take whole requests up to maxBatchEvents records (at least one request).
      const batch: Part[] = [];
      let count = 0;
      let taken = 0;
      for (; taken < lane.queue.length; taken++) {
        const part = lane.queue[taken]!;
        if (count && count + part.records.length > this.maxBatchEvents) break;
        count += part.records.length;
        // Requests that already timed out were answered 503 (the player retries): drop them.
        if (!part.request.settled) batch.push(part);
      }
      lane.queue = taken === lane.queue.length ? [] : lane.queue.slice(taken);
      this.queued -= count;
      if (!batch.length) continue;
      const byTopic = new Map<string, TopicMessages>();
      for (const p of batch) {
        const origin = messageOrigin(p.origin);
        for (const r of p.records) {
          let t = byTopic.get(r.topic);
          if (!t) byTopic.set(r.topic, (t = { topic: r.topic, messages: [] }));
          t.messages.push(tagMessage({ key: r.key, value: r.value }, origin));
        }
      }
      try {
        if (!lane.connected) {
          await lane.producer.connect();
          lane.connected = true;
        }
        // One send for many requests: its span is shared, each request's trace gets a mirror.
        await traceFanIn(
          'kafka publish',
          batch.map((p) => p.origin),
          () =>
            lane.producer.sendBatch({
              topicMessages: [...byTopic.values()],
              acks: -1,
              timeout: this.options.ackTimeoutMs,
            }),
          {
            kind: SpanKind.PRODUCER,
            attributes: { 'messaging.system': 'kafka', 'messaging.batch.message_count': count },
          },
        );
        lane.connected = true;
        for (const p of batch) p.request.resolve();
      } catch (err) {
        this.options.logger.warn(
          { err, events: batch.reduce((n, p) => n + p.records.length, 0), producer: lane.index },
          'kafka did not acknowledge a batch',
        );
        const failure = new ServiceUnavailableError(
          'the event broker is not reachable',
          RETRY_AFTER_SECONDS,
        );
        for (const p of batch) p.request.reject(failure);
        await this.recover(lane, err as Error);
      }
    }
    lane.flushing = false;
  }

  /**
   * After a failed send the idempotent producer may hold a stale sequence or a dead connection:
   * replace it with a fresh one (new producer id), which is always safe for ordering because
   * everything in flight was answered 503 and will be retried by the players.
   */
  private async recover(lane: Lane, err: Error): Promise<void> {
    if (this.closed) return;
    this.options.logger.info(
      { reason: err.message, producer: lane.index },
      'renewing the kafka producer',
    );
    const old = lane.producer;
    lane.producer = this.createProducer(lane);
    lane.connected = false;
    await old.disconnect().catch(() => undefined);
  }

  /** Drains what is queued, then disconnects. */
  async close(): Promise<void> {
    const deadline = Date.now() + this.options.ackTimeoutMs;
    const busy = () => this.lanes.some((l) => l.flushing || l.queue.length);
    while (busy() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.closed = true;
    await Promise.all(this.lanes.map((l) => l.producer.disconnect().catch(() => undefined)));
  }
}
