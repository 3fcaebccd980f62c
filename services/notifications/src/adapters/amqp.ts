/**
 * RabbitMQ: one connection that reconnects with backoff (re-running every registered setup), the
 * topology of a consumer queue, and a consumer with a retry ladder and a dead-letter queue.
 *
 * Topology of a consumer queue `<q>` (every queue quorum, durable):
 *   - `<q>`: the work queue, bound to the exchange by the routing keys. `x-delivery-limit` sends
 *     a message that keeps crashing the consumer (redelivered unacked) to the DLQ;
 *   - `<q>.retry.<delay>` per step of the ladder (e.g. 10s, 1m, 10m): a message waits there for
 *     the queue's TTL, then dead-letters back to `<q>` through the default exchange;
 *   - dead-lettering is `at-least-once` (a message leaves a queue only once the target has it);
 *   - `<q>.dlq`: where a message goes after the last try, or at once when it is malformed, with
 *     the reason in the `x-death-reason` header.
 * The attempt is counted in the `x-attempt` header; the original routing key travels in
 * `x-routing-key` (a message coming back from a retry queue arrives under the queue's name).
 * Retries and dead-letters are published on a confirm channel before the original is acked:
 * nothing is lost between the two.
 */
import * as amqp from 'amqplib';
import { DomainError } from '@cinema/errors';
import type { Logger } from '@cinema/logging';
import { consumeInTrace } from '@cinema/telemetry';

export type Setup = (connection: amqp.ChannelModel) => Promise<void>;

/** One connection to RabbitMQ, re-established after a failure; setups re-run on each connect. */
export class AmqpConnection {
  private connection?: amqp.ChannelModel;
  private readonly setups: Array<{ name: string; run: Setup }> = [];
  private closing = false;
  private failures = 0;
  private connecting?: Promise<void>;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {}

  get connected(): boolean {
    return this.connection !== undefined;
  }

  /** Connects (the first time: fails when RabbitMQ is unreachable, so the service does not start). */
  async start(): Promise<void> {
    await this.connect();
  }

  /** Registers a setup (queues, consumers); runs now when connected, and after each reconnect. */
  async use(name: string, run: Setup): Promise<void> {
    this.setups.push({ name, run });
    if (this.connection) await run(this.connection);
  }

  /** A channel on the current connection (for publishers; recreate it after a reconnect). */
  async channel(): Promise<amqp.ConfirmChannel> {
    if (!this.connection) throw new Error('RabbitMQ is not connected');
    return this.connection.createConfirmChannel();
  }

  /** Readiness check. */
  check = async (): Promise<void> => {
    if (!this.connection) throw new Error('RabbitMQ is not connected');
  };

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    await this.connecting?.catch(() => undefined);
    const connection = this.connection;
    this.connection = undefined;
    await connection?.close().catch(() => undefined);
  }

  private connect(): Promise<void> {
    this.connecting = (async () => {
      const connection = await amqp.connect(this.url, { timeout: 5000 });
      connection.on('error', (err) => this.logger.warn({ err }, 'amqp: connection error'));
      connection.on('close', () => {
        if (this.connection !== connection) return;
        this.connection = undefined;
        if (!this.closing) this.reconnectLater();
      });
      this.connection = connection;
      for (const setup of this.setups) await setup.run(connection);
      this.failures = 0;
      this.logger.info('amqp: connected');
    })();
    return this.connecting;
  }

  private reconnectLater(): void {
    const wait = Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7));
    this.failures++;
    this.logger.warn({ waitMs: wait }, 'amqp: connection lost, reconnecting');
    this.timer = setTimeout(() => {
      this.connect().catch((err: unknown) => {
        this.logger.warn({ err }, 'amqp: reconnect failed');
        const connection = this.connection;
        this.connection = undefined;
        void connection?.close().catch(() => undefined);
        if (!this.closing) this.reconnectLater();
      });
    }, wait);
    this.timer.unref();
  }
}

export interface ConsumerQueueSpec {
  /** The work queue's name; the retry queues and the DLQ are named after it. */
  queue: string;
  exchange: string;
  exchangeType?: 'topic' | 'direct' | 'fanout';
  routingKeys: string[];
  /** Delays of the retry ladder, in ms (e.g. 10 s, 1 min, 10 min). */
  retryDelaysMs: number[];
  /** Redeliveries of an unacked message (consumer crashed on it) before the DLQ. */
  deliveryLimit?: number;
}

export interface ConsumerQueueNames {
  work: string;
  retries: string[];
  dlq: string;
}

const QUORUM = { 'x-queue-type': 'quorum' };
/**
 * Dead-lettering of a quorum queue that loses nothing: the message stays until the target queue
 * confirmed it (RabbitMQ 3.10+; needs `reject-publish` overflow).
 */
const SAFE_DEAD_LETTERING = {
  'x-dead-letter-strategy': 'at-least-once',
  'x-overflow': 'reject-publish',
};

const delayName = (ms: number) =>
  ms % 3_600_000 === 0
    ? `${ms / 3_600_000}h`
    : ms % 60_000 === 0
      ? `${ms / 60_000}m`
      : ms % 1000 === 0
        ? `${ms / 1000}s`
        : `${ms}ms`;

export function queueNames(
  spec: Pick<ConsumerQueueSpec, 'queue' | 'retryDelaysMs'>,
): ConsumerQueueNames {
  return {
    work: spec.queue,
    retries: spec.retryDelaysMs.map((ms) => `${spec.queue}.retry.${delayName(ms)}`),
    dlq: `${spec.queue}.dlq`,
  };
}

/** Declares the exchange, the work queue with its bindings, the retry ladder and the DLQ. */
export async function assertConsumerTopology(
  channel: amqp.Channel,
  spec: ConsumerQueueSpec,
): Promise<ConsumerQueueNames> {
  const names = queueNames(spec);
  await channel.assertExchange(spec.exchange, spec.exchangeType ?? 'topic', { durable: true });
  await channel.assertQueue(names.dlq, { durable: true, arguments: { ...QUORUM } });
  await channel.assertQueue(names.work, {
    durable: true,
    arguments: {
      ...QUORUM,
      ...SAFE_DEAD_LETTERING,
      'x-delivery-limit': spec.deliveryLimit ?? 10,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': names.dlq,
    },
  });
  for (const key of spec.routingKeys) await channel.bindQueue(names.work, spec.exchange, key);
  for (const [i, ms] of spec.retryDelaysMs.entries()) {
    await channel.assertQueue(names.retries[i]!, {
      durable: true,
      arguments: {
        ...QUORUM,
        ...SAFE_DEAD_LETTERING,
        'x-message-ttl': ms,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': names.work,
      },
    });
  }
  return names;
}

/** A message as the handler sees it. */
export interface IncomingMessage {
  /** The publisher's `message_id` (the idempotency key); undefined when it set none. */
  messageId?: string;
  /** The original routing key (also after a trip through a retry queue). */
  routingKey: string;
  /** Failed attempts before this one (0 on the first delivery). */
  attempt: number;
  /** Publish time (seconds since the epoch, as set by the publisher), if any. */
  timestamp?: number;
  headers: Record<string, unknown>;
  body: Buffer;
}

/**
 * Thrown (or a 4xx DomainError: ValidationError, BadRequestError) by a handler for a message
 * that can never succeed: it goes to the DLQ at once, with the reason.
 */
export class PoisonMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoisonMessageError';
  }
}

const isPermanent = (err: unknown) =>
  err instanceof PoisonMessageError ||
  (err instanceof DomainError && err.status >= 400 && err.status < 500);

export interface ConsumerStats {
  handled: number;
  retried: number;
  deadLettered: number;
}

export interface QueueConsumerOptions {
  connection: AmqpConnection;
  spec: ConsumerQueueSpec;
  prefetch: number;
  logger: Logger;
  handle: (message: IncomingMessage) => Promise<void>;
}

/**
 * Consumes a work queue: success acks; a permanent failure dead-letters at once; any other
 * failure goes one step down the retry ladder (the DLQ after the last). Re-subscribes after a
 * reconnect. `stop()` cancels the subscription and waits for the messages in hand.
 */
export class QueueConsumer {
  readonly names: ConsumerQueueNames;
  readonly stats: ConsumerStats = { handled: 0, retried: 0, deadLettered: 0 };
  private channel?: amqp.ConfirmChannel;
  private tag?: string;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: QueueConsumerOptions) {
    this.names = queueNames(o.spec);
  }

  async start(): Promise<void> {
    await this.o.connection.use(`consumer:${this.names.work}`, (connection) =>
      this.subscribe(connection),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const channel = this.channel;
    if (channel && this.tag) await channel.cancel(this.tag).catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
    this.channel = undefined;
    await channel?.close().catch(() => undefined);
  }

  private async subscribe(connection: amqp.ChannelModel): Promise<void> {
    if (this.stopped) return;
    const channel = await connection.createConfirmChannel();
    channel.on('error', (err) =>
      this.o.logger.warn({ err, queue: this.names.work }, 'amqp: channel error'),
    );
    await assertConsumerTopology(channel, this.o.spec);
    await channel.prefetch(this.o.prefetch);
    this.channel = channel;
    const { consumerTag } = await channel.consume(this.names.work, (msg) => {
      if (!msg) return; // cancelled by the broker (queue deleted)
      const work = this.onMessage(channel, msg).finally(() => this.inFlight.delete(work));
      this.inFlight.add(work);
    });
    this.tag = consumerTag;
  }

  private async onMessage(channel: amqp.ConfirmChannel, msg: amqp.ConsumeMessage): Promise<void> {
    const headers = { ...(msg.properties.headers ?? {}) } as Record<string, unknown>;
    const attempt = Number(headers['x-attempt'] ?? 0) || 0;
    const routingKey =
      typeof headers['x-routing-key'] === 'string'
        ? headers['x-routing-key']
        : msg.fields.routingKey;
    const message: IncomingMessage = {
      messageId:
        typeof msg.properties.messageId === 'string' ? msg.properties.messageId : undefined,
      routingKey,
      attempt,
      timestamp:
        typeof msg.properties.timestamp === 'number' ? msg.properties.timestamp : undefined,
      headers,
      body: msg.content,
    };
    try {
      // In the trace of the request that caused the event (its traceparent is in the headers;
      // a retried message keeps them).
      await consumeInTrace(
        headers,
        this.names.work,
        {
          'messaging.message.id': message.messageId ?? '',
          'messaging.rabbitmq.destination.routing_key': routingKey,
          'messaging.rabbitmq.retry': attempt,
        },
        async () => {
          await this.o.handle(message);
          // One line per handled message (the consumer's access log), in the message's trace.
          this.o.logger.info(
            { queue: this.names.work, messageId: message.messageId, routingKey, attempt },
            'notifications: message handled',
          );
        },
      );
      channel.ack(msg);
      this.stats.handled++;
      return;
    } catch (err) {
      const reason = String((err as Error)?.message ?? err).slice(0, 1000);
      const next = attempt + 1;
      const permanent = isPermanent(err);
      const target =
        !permanent && next <= this.names.retries.length
          ? this.names.retries[next - 1]!
          : this.names.dlq;
      const toDlq = target === this.names.dlq;
      const log = {
        err,
        queue: this.names.work,
        messageId: message.messageId,
        routingKey,
        attempt: next,
      };
      if (toDlq) this.o.logger.error(log, 'notifications: message dead-lettered');
      else
        this.o.logger.warn(
          { ...log, retryQueue: target },
          'notifications: message failed, retrying',
        );
      try {
        channel.sendToQueue(target, msg.content, {
          ...msg.properties,
          persistent: true,
          headers: {
            ...headers,
            'x-attempt': next,
            'x-routing-key': routingKey,
            'x-last-error': reason,
            ...(toDlq
              ? {
                  'x-death-reason': permanent
                    ? `malformed: ${reason}`
                    : `retries exhausted: ${reason}`,
                  'x-failed-queue': this.names.work,
                }
              : {}),
          },
        });
        await channel.waitForConfirms();
        channel.ack(msg);
        if (toDlq) this.stats.deadLettered++;
        else this.stats.retried++;
      } catch (publishErr) {
        // Not moved: the broker redelivers it (x-delivery-limit bounds the loop).
        this.o.logger.warn({ err: publishErr }, 'amqp: could not move a failed message');
        try {
          channel.nack(msg, false, true);
        } catch {
          /* channel gone: redelivered anyway */
        }
      }
    }
  }
}

/** Publishes persistent JSON to an exchange on a confirm channel (tests, producers). */
export async function publishJson(
  channel: amqp.ConfirmChannel,
  exchange: string,
  routingKey: string,
  body: unknown,
  options: amqp.Options.Publish = {},
): Promise<void> {
  channel.publish(exchange, routingKey, Buffer.from(JSON.stringify(body)), {
    persistent: true,
    contentType: 'application/json',
    type: routingKey,
    ...options,
  });
  await channel.waitForConfirms();
}
