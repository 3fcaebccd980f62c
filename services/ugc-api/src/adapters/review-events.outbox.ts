/**
 * The reviews' outbox on MongoDB/FerretDB, which has no multi-document transactions here: the
 * event is written into the vote document itself, in the same single-document update that sets
 * the vote (`outbox` + `outboxPending: true`), so the vote and its event are stored together or
 * not at all. The relay finds pending entries (index `outbox_pending`), publishes them persistent
 * on a confirm channel to the `ugc.events` topic exchange with `message_id`, and after the
 * broker's confirm clears `outboxPending` only if the entry is still the one it published (a
 * newer vote's entry written meanwhile stays pending). While RabbitMQ is unreachable entries wait
 * and the relay retries with backoff. At least once: a relay that dies between the confirm and
 * the update, or two replicas relaying the same entry, publish it twice with the same
 * `message_id`; consumers dedupe on it. A vote withdrawn before its event went out takes the
 * event with it (the like is no more).
 */
import { randomUUID } from 'node:crypto';
import * as amqp from 'amqplib';
import type { WithId } from 'mongodb';
import type { Logger } from '@cinema/logging';
import type { ReviewEvent } from '../domain/ports';
import type { Collections, OutboxEntry, ReviewVoteDoc } from './mongo';

/** The `$set` fields that put an event into the vote's document write. */
export function outboxFields(
  event: ReviewEvent,
  now: Date,
): Pick<ReviewVoteDoc, 'outbox' | 'outboxPending'> {
  const messageId = randomUUID();
  return {
    outbox: {
      messageId,
      routingKey: event.routingKey,
      payload: { message_id: messageId, event: event.routingKey, ...event.payload },
      createdAt: now,
      attempts: 0,
    },
    outboxPending: true,
  };
}

export interface ReviewEventsRelayOptions {
  collections: Pick<Collections, 'reviewVotes'>;
  amqpUrl: string;
  exchange: string;
  logger: Logger;
  pollMs: number;
  batchSize?: number;
}

export class ReviewEventsRelay {
  private conn?: amqp.ChannelModel;
  private channel?: amqp.ConfirmChannel;
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private pending = false;
  private failures = 0;
  /** Messages confirmed by the broker since start. */
  published = 0;
  connected = false;

  constructor(private readonly o: ReviewEventsRelayOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Asks for a relay now (after a vote that wrote an event). */
  notify = (): void => {
    this.pending = true;
    this.wake?.();
  };

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    const conn = this.conn;
    this.channel = undefined;
    this.conn = undefined;
    this.connected = false;
    await conn?.close().catch(() => undefined);
  }

  /** Entries not yet published (readiness detail, tests). */
  backlog(): Promise<number> {
    return this.o.collections.reviewVotes.countDocuments({ outboxPending: true });
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
          'outbox: publishing review events failed; they wait on their votes and will be retried',
        );
        const conn = this.conn;
        this.channel = undefined;
        this.conn = undefined;
        this.connected = false;
        await conn?.close().catch(() => undefined);
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
    return channel;
  }

  /** Publishes one batch; answers whether more entries may be waiting. */
  async drainOnce(): Promise<boolean> {
    const batchSize = this.o.batchSize ?? 100;
    const votes = this.o.collections.reviewVotes;
    const docs = await votes
      .find({ outboxPending: true })
      .sort({ createdAt: 1 })
      .limit(batchSize)
      .toArray();
    const entries = docs.filter((d): d is WithId<ReviewVoteDoc> & { outbox: OutboxEntry } =>
      Boolean(d.outbox),
    );
    if (!entries.length) return false;
    const channel = await this.ensureChannel();
    try {
      for (const { outbox } of entries) {
        const ok = channel.publish(
          this.o.exchange,
          outbox.routingKey,
          Buffer.from(JSON.stringify(outbox.payload)),
          {
            persistent: true,
            contentType: 'application/json',
            messageId: outbox.messageId,
            type: outbox.routingKey,
            timestamp: Math.floor(new Date(outbox.createdAt).getTime() / 1000),
            appId: 'ugc-api',
          },
        );
        if (!ok) await new Promise((r) => channel.once('drain', r));
      }
      await channel.waitForConfirms();
    } catch (err) {
      for (const d of entries) {
        await votes
          .updateOne(
            { _id: d._id, 'outbox.messageId': d.outbox.messageId },
            {
              $set: {
                'outbox.attempts': d.outbox.attempts + 1,
                'outbox.lastError': String((err as Error)?.message ?? err).slice(0, 500),
              },
            },
          )
          .catch(() => undefined);
      }
      throw err;
    }
    // Confirmed: done, unless a newer vote replaced the entry meanwhile.
    for (const d of entries) {
      await votes.updateOne(
        { _id: d._id, 'outbox.messageId': d.outbox.messageId },
        { $set: { outboxPending: false, 'outbox.attempts': d.outbox.attempts + 1 } },
      );
    }
    // Entries without an event (never written so) are not pending.
    const stray = docs.filter((d) => !d.outbox).map((d) => d._id!);
    if (stray.length)
      await votes.updateMany({ _id: { $in: stray } }, { $set: { outboxPending: false } });
    this.published += entries.length;
    return docs.length === batchSize;
  }
}
