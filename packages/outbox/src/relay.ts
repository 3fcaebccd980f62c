/** The relay loop and its RabbitMQ side; where the events wait is the store's business. */
import * as amqp from 'amqplib';
import type { Logger } from '@cinema/logging';
import { publishInTrace } from './trace';

/** One waiting event, as a store hands it over. */
export interface OutboxMessage {
  id: string;
  routingKey: string;
  payload: unknown;
  createdAt: Date;
  /** W3C traceparent of the span that wrote the event (null: written outside a trace). */
  traceparent?: string | null;
}

/** Where a service keeps its waiting events (a PostgreSQL table, MongoDB documents, ...). */
export interface OutboxStore {
  /** Whether anything waits: cheap, so an idle relay needs no broker connection. */
  hasPending(): Promise<boolean>;
  /**
   * Claims up to `limit` waiting messages and hands them to `send`. When `send` resolves (the
   * broker confirmed them all) they are marked published; when it throws, the attempt is
   * recorded and the error rethrown, leaving them waiting. Answers how many were claimed.
   */
  relay(limit: number, send: (messages: OutboxMessage[]) => Promise<void>): Promise<number>;
  /** Events not yet published (readiness detail, tests). */
  backlog(): Promise<number>;
  /** Housekeeping (retention, scrubbing), run about once a minute, broker or not. */
  cleanup?(): Promise<void>;
}

export interface OutboxRelayOptions {
  store: OutboxStore;
  amqpUrl: string;
  /** Topic exchange the events go to (declared durable). */
  exchange: string;
  /** AMQP `app_id` of the messages: the publishing service. */
  appId: string;
  logger: Logger;
  /** How often to look for events when nobody called `notify`. */
  pollMs: number;
  batchSize?: number;
  cleanupEveryMs?: number;
}

export class OutboxRelay {
  private conn?: amqp.ChannelModel;
  private channel?: amqp.ConfirmChannel;
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private pending = false;
  private failures = 0;
  private lastCleanup = 0;
  /** Messages confirmed by the broker since start. */
  published = 0;
  connected = false;

  constructor(private readonly o: OutboxRelayOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Asks for a drain now (after a commit that added events). */
  notify = (): void => {
    this.pending = true;
    this.wake?.();
  };

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.disconnect();
  }

  backlog(): Promise<number> {
    return this.o.store.backlog();
  }

  /** The store's housekeeping now (tests; the loop runs it about once a minute). */
  async cleanup(): Promise<void> {
    await this.o.store.cleanup?.();
  }

  /** Publishes one batch; answers whether more events may be waiting. */
  async drainOnce(): Promise<boolean> {
    const limit = this.o.batchSize ?? 100;
    // Nothing to do: no connection needed (keeps the service quiet while RabbitMQ is down).
    if (!(await this.o.store.hasPending())) return false;
    const channel = await this.ensureChannel();
    const claimed = await this.o.store.relay(limit, async (messages) => {
      for (const m of messages) {
        // In the trace of the request that wrote the event: a producer span under it, whose
        // context travels in the message headers to the consumer.
        const attributes = {
          'messaging.rabbitmq.destination.routing_key': m.routingKey,
          'messaging.message.id': m.id,
        };
        const ok = publishInTrace(m.traceparent, this.o.exchange, attributes, (headers) =>
          channel.publish(this.o.exchange, m.routingKey, Buffer.from(JSON.stringify(m.payload)), {
            persistent: true,
            contentType: 'application/json',
            messageId: m.id,
            type: m.routingKey,
            timestamp: Math.floor(m.createdAt.getTime() / 1000),
            appId: this.o.appId,
            ...(Object.keys(headers).length ? { headers } : {}),
          }),
        );
        if (!ok) await new Promise((resolve) => channel.once('drain', resolve));
      }
      await channel.waitForConfirms();
      this.published += messages.length;
    });
    if (claimed) this.o.logger.debug({ count: claimed }, 'outbox: published');
    return claimed === limit;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let more = false;
      try {
        more = await this.drainOnce();
        this.failures = 0;
      } catch (err) {
        this.failures++;
        this.o.logger.warn(
          { err, failures: this.failures },
          'outbox: publishing failed; events stay in the outbox and will be retried',
        );
        await this.disconnect();
      }
      // Needs only the store: runs while the broker is down too.
      if (Date.now() - this.lastCleanup >= (this.o.cleanupEveryMs ?? 60_000)) {
        this.lastCleanup = Date.now();
        await this.cleanup().catch((err: unknown) =>
          this.o.logger.warn({ err }, 'outbox: cleanup failed'),
        );
      }
      if (!this.running) break;
      if (more && this.failures === 0) continue;
      const wait =
        this.failures > 0 ? Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7)) : this.o.pollMs;
      await this.sleep(wait, this.failures === 0);
    }
  }

  private sleep(ms: number, wakeable: boolean): Promise<void> {
    if (wakeable && this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        if (wakeable || !this.running) {
          this.pending = false;
          this.wake = undefined;
          done();
        }
      };
    });
  }

  private async ensureChannel(): Promise<amqp.ConfirmChannel> {
    if (this.channel) return this.channel;
    const conn = await amqp.connect(this.o.amqpUrl, { timeout: 5000 });
    conn.on('error', (err) => this.o.logger.warn({ err }, 'outbox: RabbitMQ connection error'));
    conn.on('close', () => {
      this.connected = false;
      this.channel = undefined;
      this.conn = undefined;
    });
    const channel = await conn.createConfirmChannel();
    channel.on('error', (err) => this.o.logger.warn({ err }, 'outbox: channel error'));
    channel.on('close', () => {
      this.channel = undefined;
    });
    await channel.assertExchange(this.o.exchange, 'topic', { durable: true });
    this.conn = conn;
    this.channel = channel;
    this.connected = true;
    this.o.logger.info({ exchange: this.o.exchange }, 'outbox: connected to RabbitMQ');
    return channel;
  }

  private async disconnect(): Promise<void> {
    const conn = this.conn;
    this.channel = undefined;
    this.conn = undefined;
    this.connected = false;
    await conn?.close().catch(() => undefined);
  }
}
