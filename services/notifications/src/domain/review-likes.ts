/**
 * ugc-api's `review.liked` (docs/contracts.md, exchange `ugc.events`), digested: the author gets
 * one in-app notice per review per hour ("5 people liked your review"), not one per like.
 *
 * The first like of a review opens a window of `windowMs` (an hour); likes in it are counted once
 * per liker; when it is due (the flusher, or the next like after it) the window closes with its
 * number of people frozen, and the notice goes through the notifier (so the `review_activity`
 * in-app preference applies) with a message id of its own (`review-likes:<window>`): planned
 * once however often the flusher runs, pushed over SSE by the inbox feed. A redelivered or
 * republished `review.liked` (same message id) counts nothing twice.
 */
import { ValidationError } from '@cinema/errors';
import type { Clock } from './model';
import type { Notify } from './catalog-events';

export const UGC_ROUTING_KEYS = ['review.liked'] as const;

export interface ReviewLiked {
  reviewId: string;
  filmId: string;
  authorId: string;
  likerId: string;
}

export interface ClosedWindow {
  id: string;
  reviewId: string;
  filmId: string;
  authorId: string;
  likers: number;
}

export interface ReviewLikesStore {
  /**
   * In one transaction: records the message id (false, and nothing else, when it was seen),
   * closes the review's open window when it is due at `now`, and counts the liker in the open
   * window (opening one until `now + windowMs` when there is none).
   */
  record(messageId: string, like: ReviewLiked, now: Date, windowMs: number): Promise<boolean>;
  /** Closes the windows due at `now` (their count frozen); answers how many. */
  closeDue(now: Date, limit: number): Promise<number>;
  /** Closed windows whose notice is not planned yet. */
  unsent(limit: number): Promise<ClosedWindow[]>;
  markSent(windowId: string, now: Date): Promise<void>;
  /** Forgets message ids and sent windows older than `before`. */
  cleanup(before: Date): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const REVIEW_ID = /^[0-9a-f]{24}$/i;

export function parseReviewLiked(payload: unknown): ReviewLiked {
  const p = (payload ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof p.review_id !== 'string' || !REVIEW_ID.test(p.review_id))
    problems.push('review_id: 24 hex digits');
  for (const key of ['film_id', 'author_id', 'liker_id'] as const) {
    if (typeof p[key] !== 'string' || !UUID.test(p[key] as string)) problems.push(`${key}: a UUID`);
  }
  if (problems.length) throw new ValidationError(`malformed review.liked: ${problems.join('; ')}`);
  return {
    reviewId: (p.review_id as string).toLowerCase(),
    filmId: (p.film_id as string).toLowerCase(),
    authorId: (p.author_id as string).toLowerCase(),
    likerId: (p.liker_id as string).toLowerCase(),
  };
}

export interface ReviewLikesOptions {
  store: ReviewLikesStore;
  notifier: Notify;
  clock: Clock;
  /** Length of a digest window (an hour). */
  windowMs: number;
  /** Link to a review: `review_url` of the template. */
  reviewUrl: (like: { reviewId: string; filmId: string }) => string;
  /** How long seen message ids are kept (redeliveries come within it). */
  retentionMs?: number;
}

export class ReviewLikesDigest {
  constructor(private readonly o: ReviewLikesOptions) {}

  /** Counts one like; answers false for a message seen before or a self-like. */
  async handle(event: {
    messageId: string;
    routingKey: string;
    payload: unknown;
  }): Promise<boolean> {
    if (event.routingKey !== 'review.liked') return false;
    const like = parseReviewLiked(event.payload);
    if (like.likerId === like.authorId) return false;
    return this.o.store.record(event.messageId, like, this.o.clock(), this.o.windowMs);
  }

  /**
   * Closes the due windows and plans their notices (idempotent: a crash between planning and
   * marking plans nothing twice on the next run). Answers the notices planned.
   */
  async flush(limit = 500): Promise<number> {
    const now = this.o.clock();
    await this.o.store.closeDue(now, limit);
    let sent = 0;
    for (const w of await this.o.store.unsent(limit)) {
      if (w.likers > 0) {
        await this.o.notifier.notify({
          messageId: `review-likes:${w.id}`,
          userId: w.authorId,
          category: 'review_activity',
          template: 'review_liked',
          vars: {
            count: w.likers,
            one: w.likers === 1,
            review_id: w.reviewId,
            film_id: w.filmId,
            review_url: this.o.reviewUrl(w),
          },
          channels: ['in_app'],
        });
        sent++;
      }
      await this.o.store.markSent(w.id, now);
    }
    await this.o.store.cleanup(new Date(now.getTime() - (this.o.retentionMs ?? 7 * 86_400_000)));
    return sent;
  }
}
