/**
 * The Kafka side of the collector: an idempotent kafkajs producer (`acks=all`) behind a
 * group-commit queue. Requests enqueue their records and wait; one `sendBatch` at a time carries
 * everything queued since the previous one, so many concurrent requests share one round trip
 * (the idempotent producer allows one request in flight per broker anyway). A request is
 * answered only when Kafka acknowledged its records; an outage or a slow broker becomes a
 * `ServiceUnavailableError` (503 with Retry-After) after `ackTimeoutMs`.
 */
import { Kafka, logLevel, type Producer, type TopicMessages } from 'kafkajs';
import { ServiceUnavailableError } from '@cinema/http';
import type { Logger } from '@cinema/logging';
import type { EventRecord } from '../domain/events';

export interface EventProducerOptions {
  brokers: readonly string[];
  clientId: string;
  logger: Logger;
  /** Topics created at start when missing. */
  topics: readonly string[];
  partitions: number;
  replicationFactor: number;
  ackTimeoutMs: number;
  maxPending: number;
}

interface Pending {
  records: EventRecord[];
  resolve: () => void;
  reject: (err: Error) => void;
  settled: boolean;
}

/** Retry-After given with 503s while Kafka is unreachable. */
const RETRY_AFTER_SECONDS = 2;

export class EventProducer {
  private readonly kafka: Kafka;
  private producer: Producer;
  private queue: Pending[] = [];
  private queued = 0;
  private flushing = false;
  private connected = false;
  private topicsReady = false;
  private closed = false;
  private connecting?: Promise<void>;

  constructor(private readonly options: EventProducerOptions) {
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      requestTimeout: Math.max(options.ackTimeoutMs, 5_000),
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    this.producer = this.createProducer();
  }

  private createProducer(): Producer {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    producer.on(producer.events.DISCONNECT, () => {
      this.connected = false;
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
            await this.producer.connect();
            this.connected = true;
            this.options.logger.info({ topics: this.options.topics }, 'kafka producer connected');
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
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = this.options.topics.filter((t) => !existing.has(t));
      if (missing.length) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({
            topic,
            numPartitions: this.options.partitions,
            replicationFactor: this.options.replicationFactor,
          })),
        });
        this.options.logger.info({ topics: missing }, 'kafka topics created');
      }
      this.topicsReady = true;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Readiness: connected and topics in place. */
  async check(): Promise<void> {
    if (!this.connected || !this.topicsReady) throw new Error('kafka producer not connected');
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
    return new Promise<void>((resolve, reject) => {
      const pending: Pending = { records, resolve, reject, settled: false };
      const timer = setTimeout(() => {
        if (pending.settled) return;
        pending.settled = true;
        reject(
          new ServiceUnavailableError(
            'the event broker did not acknowledge in time',
            RETRY_AFTER_SECONDS,
          ),
        );
      }, this.options.ackTimeoutMs);
      pending.resolve = () => {
        clearTimeout(timer);
        if (pending.settled) return;
        pending.settled = true;
        resolve();
      };
      pending.reject = (err) => {
        clearTimeout(timer);
        if (pending.settled) return;
        pending.settled = true;
        reject(err);
      };
      this.queue.push(pending);
      this.queued += records.length;
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length) {
      // Requests that already timed out are dropped: they were answered 503 and will be retried.
      const batch = this.queue.filter((p) => !p.settled);
      this.queue = [];
      this.queued = 0;
      if (!batch.length) continue;
      const byTopic = new Map<string, TopicMessages>();
      for (const p of batch) {
        for (const r of p.records) {
          let t = byTopic.get(r.topic);
          if (!t) byTopic.set(r.topic, (t = { topic: r.topic, messages: [] }));
          t.messages.push({ key: r.key, value: r.value });
        }
      }
      try {
        if (!this.connected) {
          await this.producer.connect();
          this.connected = true;
        }
        await this.producer.sendBatch({
          topicMessages: [...byTopic.values()],
          acks: -1,
          timeout: this.options.ackTimeoutMs,
        });
        this.connected = true;
        for (const p of batch) p.resolve();
      } catch (err) {
        this.options.logger.warn(
          { err, events: batch.reduce((n, p) => n + p.records.length, 0) },
          'kafka did not acknowledge a batch',
        );
        const failure = new ServiceUnavailableError(
          'the event broker is not reachable',
          RETRY_AFTER_SECONDS,
        );
        for (const p of batch) p.reject(failure);
        await this.recover(err as Error);
      }
    }
    this.flushing = false;
  }

  /**
   * After a failed send the idempotent producer may hold a stale sequence or a dead connection:
   * replace it with a fresh one (new producer id), which is always safe for ordering because
   * everything in flight was answered 503 and will be retried by the players.
   */
  private async recover(err: Error): Promise<void> {
    if (this.closed) return;
    this.options.logger.info({ reason: err.message }, 'renewing the kafka producer');
    const old = this.producer;
    this.producer = this.createProducer();
    this.connected = false;
    await old.disconnect().catch(() => undefined);
  }

  /** Drains what is queued, then disconnects. */
  async close(): Promise<void> {
    const deadline = Date.now() + this.options.ackTimeoutMs;
    while ((this.flushing || this.queue.length) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.closed = true;
    await this.producer.disconnect().catch(() => undefined);
  }
}
