/**
 * Reviews (one per user and film) and their likes and dislikes (one vote per user and review).
 * Every write to a review document (text, counters, deletion) runs under that review's lock, so
 * the counters, changed the same journaled way as the film rating counters, stay exact.
 */
import { ForbiddenError, NotFoundError } from '@cinema/errors';
import { decodeCursor, encodeCursor } from './cursor';
import {
  isModerator,
  type Actor,
  type Page,
  type Review,
  type ReviewSort,
  type ReviewView,
  type VoteValue,
} from './model';
import type { Locks, RatingRepository, ReviewRepository, StoredReview } from './ports';

export class ReviewsService {
  constructor(
    private readonly reviews: ReviewRepository,
    private readonly ratings: Pick<RatingRepository, 'scoresOf'>,
    private readonly locks: Locks,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async create(actor: Actor, filmId: string, text: string): Promise<ReviewView> {
    const review = await this.reviews.create(actor.id, filmId, text, this.clock());
    return (await this.withRatings([review]))[0]!;
  }

  async get(id: string): Promise<ReviewView> {
    const review = await this.reviews.get(id);
    if (!review) throw new NotFoundError('no such review');
    return (await this.withRatings([strip(review)]))[0]!;
  }

  async edit(actor: Actor, id: string, text: string): Promise<ReviewView> {
    await this.locks.withLock(lockKey(id), async () => {
      const review = await this.settled(id);
      if (review.authorId !== actor.id) throw new ForbiddenError('only the author edits a review');
      await this.reviews.setText(id, text, this.clock());
    });
    return this.get(id);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    await this.locks.withLock(lockKey(id), async () => {
      const review = await this.reviews.get(id);
      if (!review) throw new NotFoundError('no such review');
      if (review.authorId !== actor.id && !isModerator(actor))
        throw new ForbiddenError('only the author or an admin removes a review');
      await this.reviews.remove(id);
    });
  }

  async list(
    filmId: string,
    sort: ReviewSort,
    limit: number,
    cursor?: string,
  ): Promise<Page<ReviewView>> {
    const kind = `reviews-${sort}`;
    const slice = await this.reviews.listByFilm(filmId, sort, limit, decodeCursor(kind, cursor));
    return {
      items: await this.withRatings(slice.items),
      nextCursor: slice.next && encodeCursor(kind, slice.next),
    };
  }

  /** Sets (value) or withdraws (null) the actor's vote on a review. */
  async vote(actor: Actor, id: string, value: VoteValue | null): Promise<ReviewView> {
    await this.locks.withLock(lockKey(id), async () => {
      const review = await this.settled(id);
      if (review.authorId === actor.id)
        throw new ForbiddenError('authors do not vote on their own review');
      const previous = await this.reviews.getVote(id, actor.id);
      if (value === null && previous === null)
        throw new NotFoundError('you have not voted on this review');
      if (previous === value) return;
      await this.reviews.markPending(id, { userId: actor.id, from: previous, to: value });
      const now = this.clock();
      // A new like tells the author (notifications digests them): the event rides in the vote's
      // own document write.
      const event =
        value === 'like'
          ? ({
              routingKey: 'review.liked',
              payload: {
                review_id: id,
                film_id: review.filmId,
                author_id: review.authorId,
                liker_id: actor.id,
                liked_at: now.toISOString(),
              },
            } as const)
          : undefined;
      await this.reviews.setVote(id, actor.id, value, now, event);
      const next = applyVote(review, previous, value);
      await this.reviews.storeCounters(id, next.likes, next.dislikes);
    });
    return this.get(id);
  }

  async myVote(actor: Actor, id: string): Promise<VoteValue | null> {
    if (!(await this.reviews.get(id))) throw new NotFoundError('no such review');
    return this.reviews.getVote(id, actor.id);
  }

  /** The review with a vote change left pending by a crashed writer resolved (under the lock). */
  private async settled(id: string): Promise<StoredReview> {
    const review = await this.reviews.get(id);
    if (!review) throw new NotFoundError('no such review');
    const { pending } = review;
    if (!pending) return review;
    const current = await this.reviews.getVote(id, pending.userId);
    const next = applyVote(review, pending.from, current);
    await this.reviews.storeCounters(id, next.likes, next.dislikes);
    return { ...review, ...next, pending: undefined };
  }

  private async withRatings(reviews: Review[]): Promise<ReviewView[]> {
    if (!reviews.length) return [];
    const byFilm = new Map<string, string[]>();
    for (const r of reviews) byFilm.set(r.filmId, [...(byFilm.get(r.filmId) ?? []), r.authorId]);
    const scores = new Map<string, number>();
    for (const [filmId, authors] of byFilm) {
      for (const [userId, score] of await this.ratings.scoresOf(filmId, authors))
        scores.set(`${filmId}/${userId}`, score);
    }
    return reviews.map((r) => ({
      ...r,
      authorRating: scores.get(`${r.filmId}/${r.authorId}`) ?? null,
    }));
  }
}

const lockKey = (id: string) => `review:${id}`;

const strip = ({ pending: _pending, ...review }: StoredReview): Review => review;

/** Counters after one user's vote went from `from` to `to` (null: no vote). */
export function applyVote(
  counters: { likes: number; dislikes: number },
  from: VoteValue | null,
  to: VoteValue | null,
): { likes: number; dislikes: number } {
  const delta = (v: VoteValue, which: VoteValue) => (v === which ? 1 : 0);
  return {
    likes: counters.likes - (from ? delta(from, 'like') : 0) + (to ? delta(to, 'like') : 0),
    dislikes:
      counters.dislikes - (from ? delta(from, 'dislike') : 0) + (to ? delta(to, 'dislike') : 0),
  };
}
