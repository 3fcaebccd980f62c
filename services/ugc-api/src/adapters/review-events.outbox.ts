/**
 * The reviews' outbox on MongoDB/FerretDB, which has no multi-document transactions here: the
 * event is written into the vote document itself, in the same single-document update that sets
 * the vote (`outbox` + `outboxPending: true`), so the vote and its event are stored together or
 * not at all. The shared relay of `@cinema/outbox` takes pending entries from this store (index
 * `outbox_pending`), publishes them persistent on a confirm channel to the `ugc.events` topic
 * exchange with `message_id`, and after the broker's confirm the store clears `outboxPending` only if the entry is still the one it published (a
 * newer vote's entry written meanwhile stays pending). While RabbitMQ is unreachable entries wait
 * and the relay retries with backoff. At least once: a relay that dies between the confirm and
 * the update, or two replicas relaying the same entry, publish it twice with the same
 * `message_id`; consumers dedupe on it. A vote withdrawn before its event went out takes the
 * event with it (the like is no more).
 */
import { randomUUID } from 'node:crypto';
import type { WithId } from 'mongodb';
import type { Logger } from '@cinema/logging';
import { OutboxRelay, type OutboxMessage, type OutboxStore } from '@cinema/outbox';
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

type PendingVote = WithId<ReviewVoteDoc> & { outbox: OutboxEntry };

/** The outbox entries waiting on vote documents. */
export class VoteOutboxStore implements OutboxStore {
  constructor(private readonly votes: Collections['reviewVotes']) {}

  async hasPending(): Promise<boolean> {
    return (await this.votes.countDocuments({ outboxPending: true }, { limit: 1 })) > 0;
  }

  backlog(): Promise<number> {
    return this.votes.countDocuments({ outboxPending: true });
  }

  async relay(limit: number, send: (messages: OutboxMessage[]) => Promise<void>): Promise<number> {
    const docs = await this.votes
      .find({ outboxPending: true })
      .sort({ createdAt: 1 })
      .limit(limit)
      .toArray();
    const entries = docs.filter((d): d is PendingVote => Boolean(d.outbox));
    if (entries.length) {
      try {
        await send(
          entries.map(({ outbox }) => ({
            id: outbox.messageId,
            routingKey: outbox.routingKey,
            payload: outbox.payload,
            createdAt: new Date(outbox.createdAt),
          })),
        );
      } catch (err) {
        for (const d of entries) {
          await this.votes
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
        await this.votes.updateOne(
          { _id: d._id, 'outbox.messageId': d.outbox.messageId },
          { $set: { outboxPending: false, 'outbox.attempts': d.outbox.attempts + 1 } },
        );
      }
    }
    // Entries without an event (never written so) are not pending.
    const stray = docs.filter((d) => !d.outbox).map((d) => d._id!);
    if (stray.length)
      await this.votes.updateMany({ _id: { $in: stray } }, { $set: { outboxPending: false } });
    return docs.length;
  }
}

/** Relays the review events to the `ugc.events` exchange (at least once, by `message_id`). */
export class ReviewEventsRelay extends OutboxRelay {
  constructor(o: ReviewEventsRelayOptions) {
    super({ ...o, appId: 'ugc-api', store: new VoteOutboxStore(o.collections.reviewVotes) });
  }
}
