/**
 * Ratings and the per-film counters (count and sum of scores) stored beside them. Every change
 * of a film's ratings runs under that film's lock and follows three single-document writes:
 * record the pending change on the counters, change the rating, store the new counters and
 * clear the pending change. A crash between them leaves a pending change that the next writer
 * resolves by looking at the rating, so the counters stay equal to a recount.
 */
import { NotFoundError } from '@cinema/errors';
import { decodeCursor, encodeCursor } from './cursor';
import { summaryOf, type Actor, type Page, type Rating, type RatingSummary } from './model';
import type { FilmCounters, Locks, RatingRepository } from './ports';

export interface RatingChange {
  rating: Rating;
  summary: RatingSummary;
}

export class RatingsService {
  constructor(
    private readonly ratings: RatingRepository,
    private readonly locks: Locks,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async set(actor: Actor, filmId: string, score: number): Promise<RatingChange> {
    return this.locks.withLock(lockKey(filmId), async () => {
      const counters = await this.settled(filmId);
      const previous = await this.ratings.get(actor.id, filmId);
      const from = previous?.score ?? null;
      await this.ratings.markPending(filmId, { userId: actor.id, from, to: score });
      const now = this.clock();
      const rating = await this.ratings.put(
        actor.id,
        filmId,
        score,
        now,
        previous?.createdAt ?? now,
      );
      const next = applyChange(counters, from, score);
      await this.ratings.storeCounters(filmId, next.count, next.sum);
      return { rating, summary: summaryOf(filmId, next.count, next.sum) };
    });
  }

  async remove(actor: Actor, filmId: string): Promise<RatingSummary> {
    return this.locks.withLock(lockKey(filmId), async () => {
      const counters = await this.settled(filmId);
      const previous = await this.ratings.get(actor.id, filmId);
      if (!previous) throw new NotFoundError('you have not rated this film');
      await this.ratings.markPending(filmId, {
        userId: actor.id,
        from: previous.score,
        to: null,
      });
      await this.ratings.remove(actor.id, filmId);
      const next = applyChange(counters, previous.score, null);
      await this.ratings.storeCounters(filmId, next.count, next.sum);
      return summaryOf(filmId, next.count, next.sum);
    });
  }

  async mine(actor: Actor, filmId: string): Promise<Rating> {
    const rating = await this.ratings.get(actor.id, filmId);
    if (!rating) throw new NotFoundError('you have not rated this film');
    return rating;
  }

  async list(actor: Actor, limit: number, cursor?: string): Promise<Page<Rating>> {
    const slice = await this.ratings.listByUser(actor.id, limit, decodeCursor('ratings', cursor));
    return { items: slice.items, nextCursor: slice.next && encodeCursor('ratings', slice.next) };
  }

  /** Read from the stored counters: no scan of the ratings. */
  async summary(filmId: string): Promise<RatingSummary> {
    // While a change is pending the stored counters are the state before it: consistent.
    const { count, sum } = await this.ratings.counters(filmId);
    return summaryOf(filmId, count, sum);
  }

  /** The counters with any change left pending by a crashed writer resolved (under the lock). */
  private async settled(filmId: string): Promise<FilmCounters> {
    const counters = await this.ratings.counters(filmId);
    const { pending } = counters;
    if (!pending) return counters;
    // The counters still hold the state before the pending change (they are stored together
    // with clearing it); the rating holds whatever was actually written: count that.
    const current = (await this.ratings.get(pending.userId, filmId))?.score ?? null;
    const resolved = applyChange(counters, pending.from, current);
    await this.ratings.storeCounters(filmId, resolved.count, resolved.sum);
    return resolved;
  }
}

const lockKey = (filmId: string) => `film-ratings:${filmId}`;

/** Counters after one user's score went from `from` to `to` (null: no rating). */
export function applyChange(
  counters: { count: number; sum: number },
  from: number | null,
  to: number | null,
): { count: number; sum: number } {
  return {
    count: counters.count - (from === null ? 0 : 1) + (to === null ? 0 : 1),
    sum: counters.sum - (from ?? 0) + (to ?? 0),
  };
}
