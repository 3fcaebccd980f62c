/**
 * Page-view events to Kafka (docs/contracts.md: one topic per endpoint, declared in
 * @cinema/kafka's `PAGE_VIEW_TOPICS`; JSON value, key = user id). Fire-and-forget: `emit` only appends to a bounded in-memory buffer that a background loop
 * sends in batches through an idempotent producer, so answers never wait for Kafka. Events that
 * cannot be sent (buffer full while Kafka is slow or down, or a send that failed after the
 * client's retries) are dropped and counted on /metrics.
 */
import { randomUUID } from 'node:crypto';
import { Partitioners, type Admin, type Kafka, type Message, type Producer } from 'kafkajs';
import * as client from 'prom-client';
import {
  ensureTopics,
  KAFKA_DEFAULTS,
  kafkaOf,
  PAGE_VIEW_ENDPOINTS,
  PAGE_VIEW_TOPICS,
  topicName,
  type KafkaSource,
  type PageViewEndpoint,
} from '@cinema/kafka';
import type { Logger } from '@cinema/logging';
import {
  captureContext,
  messageOrigin,
  SpanKind,
  tagMessage,
  traceFanIn,
  type Context,
} from '@cinema/telemetry';

export { PAGE_VIEW_ENDPOINTS, type PageViewEndpoint };

export interface PageView {
  event_id: string;
  user_id: string;
  endpoint: string;
  params: Record<string, string>;
  status_code: number;
  event_time: string;
  /** Matches in all pages, for the list and search endpoints. */
  result_count?: number;
}

/**
 * `kafka`: the service's client (`createKafka(config, logger)` of @cinema/kafka), or `brokers` and
 * `clientId` for a client with the default settings.
 */
export type PageViewOptions = KafkaSource & {
  /** Prepended to each declared topic name (`KAFKA_TOPIC_PREFIX`; empty in production). */
  topicPrefix: string;
  /** Of the topics created when missing (`KAFKA_TOPIC_PARTITIONS`, `KAFKA_TOPIC_REPLICATION`). */
  partitions?: number;
  replicationFactor?: number;
  bufferSize: number;
  flushMs: number;
  /** Events per send. */
  batchSize?: number;
};

export class PageViewProducer {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly admin: Admin;
  /** `origin`: the request's trace context (its page view continues that trace). */
  private buffer: Array<{ topic: string; message: Message; origin: Context }> = [];
  private ready = false;
  private closed = false;
  private sending?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private connecting?: Promise<void>;
  private wake?: () => void;
  private readonly sent: client.Counter;
  private readonly failed: client.Counter<'reason'>;

  constructor(
    private readonly options: PageViewOptions,
    private readonly logger: Logger,
    registry: client.Registry,
  ) {
    this.kafka = kafkaOf(options, logger);
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.admin = this.kafka.admin();
    this.sent = new client.Counter({
      name: 'catalog_api_page_view_events_sent_total',
      help: 'Page-view events written to Kafka',
      registers: [registry],
    });
    this.failed = new client.Counter({
      name: 'catalog_api_page_view_events_failed_total',
      help: 'Page-view events that could not be sent, by reason (buffer_full, send_failed)',
      labelNames: ['reason'],
      registers: [registry],
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new client.Gauge({
      name: 'catalog_api_page_view_events_buffered',
      help: 'Page-view events waiting to be sent',
      registers: [registry],
      collect() {
        this.set(self.buffer.length);
      },
    });
  }

  topic(endpoint: PageViewEndpoint): string {
    return topicName(PAGE_VIEW_TOPICS[endpoint], this.options.topicPrefix);
  }

  /** Creates the topics if missing and connects; retried in the background until it works. */
  start(): void {
    if (this.connecting) return;
    this.connecting = (async () => {
      let delay = 500;
      while (!this.closed && !this.ready) {
        try {
          await this.admin.connect();
          await ensureTopics(
            this.admin,
            PAGE_VIEW_ENDPOINTS.map((e) => this.topic(e)),
            {
              partitions: this.options.partitions ?? KAFKA_DEFAULTS.topicPartitions,
              replication: this.options.replicationFactor ?? KAFKA_DEFAULTS.topicReplication,
            },
          );
          await this.admin.disconnect();
          await this.producer.connect();
          if (this.closed) {
            await this.producer.disconnect();
            return;
          }
          this.ready = true;
          this.logger.info('page-view producer connected');
          this.schedule();
        } catch (err) {
          this.logger.warn({ err, retryInMs: delay }, 'Kafka unavailable for page views');
          await new Promise<void>((r) => {
            this.wake = r;
            setTimeout(r, delay).unref();
          });
          this.wake = undefined;
          delay = Math.min(delay * 2, 30_000);
        }
      }
    })();
  }

  /** Never blocks and never throws: buffers the event or counts it as dropped. */
  emit(endpoint: PageViewEndpoint, event: Omit<PageView, 'event_id' | 'event_time'>): void {
    if (this.closed || this.buffer.length >= this.options.bufferSize) {
      this.failed.inc({ reason: 'buffer_full' });
      return;
    }
    const value: PageView = {
      event_id: randomUUID(),
      ...event,
      event_time: new Date().toISOString(),
    };
    const origin = captureContext();
    this.buffer.push({
      topic: this.topic(endpoint),
      message: tagMessage(
        { key: event.user_id, value: JSON.stringify(value) },
        messageOrigin(origin),
      ),
      origin,
    });
    this.schedule();
  }

  async ping(): Promise<void> {
    if (!this.ready) throw new Error('not connected to Kafka');
  }

  private schedule(): void {
    if (this.timer || !this.ready || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sending = this.flush().finally(() => {
        this.sending = undefined;
        if (this.buffer.length) this.schedule();
      });
    }, this.options.flushMs);
    this.timer.unref();
  }

  private async flush(): Promise<void> {
    while (this.buffer.length && this.ready) {
      const batch = this.buffer.splice(0, this.options.batchSize ?? 1000);
      const byTopic = new Map<string, Message[]>();
      for (const { topic, message } of batch) {
        const list = byTopic.get(topic) ?? [];
        list.push(message);
        byTopic.set(topic, list);
      }
      try {
        // One send for many requests: its span is shared, each request's trace gets a mirror.
        await traceFanIn(
          'kafka publish',
          batch.map((b) => b.origin),
          () =>
            this.producer.sendBatch({
              acks: -1,
              topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
            }),
          {
            kind: SpanKind.PRODUCER,
            attributes: {
              'messaging.system': 'kafka',
              'messaging.batch.message_count': batch.length,
            },
          },
        );
        this.sent.inc(batch.length);
      } catch (err) {
        this.failed.inc({ reason: 'send_failed' }, batch.length);
        this.logger.warn({ err, events: batch.length }, 'page-view events could not be sent');
      }
    }
  }

  /** Sends what is buffered (bounded by the lifecycle's timeout), then disconnects. */
  async close(): Promise<void> {
    // Closed first, so neither `emit`, the flush loop nor the connect loop start anything new;
    // then wait for whatever is running, so no Kafka request outlives `close`.
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.wake?.();
    await this.connecting;
    await this.sending;
    if (this.ready) await this.flush();
    if (this.buffer.length) this.failed.inc({ reason: 'send_failed' }, this.buffer.length);
    this.buffer = [];
    await this.producer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }
}
