/** What the use cases need from storage; implemented in src/adapters (MongoDB driver). */
import type { Position } from './cursor';
import type { Bookmark, Rating, Review, ReviewSort, VoteValue } from './model';

export interface Slice<T> {
  items: T[];
  /** Position of the last item when more items follow. */
  next?: Position;
}

/**
 * Mutual exclusion across every instance of the service for one key (a film's ratings, a
 * review's counters). Needed because FerretDB applies `$inc` and `findOneAndUpdate` as
 * read-modify-write without atomicity; a lease lets another instance take over a lock whose
 * holder crashed.
 */
export interface Locks {
  withLock<T>(key: string, task: () => Promise<T>): Promise<T>;
}

export interface BookmarkRepository {
  /** Throws ConflictError when the film is already bookmarked by the user. */
  add(userId: string, filmId: string, now: Date): Promise<Bookmark>;
  remove(userId: string, filmId: string): Promise<boolean>;
  find(userId: string, filmId: string): Promise<Bookmark | null>;
  list(userId: string, limit: number, after?: Position): Promise<Slice<Bookmark>>;
}

/** A change being applied to counters, recorded first so a crash half-way can be resolved. */
export interface PendingChange<V> {
  userId: string;
  from: V | null;
  to: V | null;
}

export interface FilmCounters {
  count: number;
  sum: number;
  pending?: PendingChange<number>;
}

export interface RatingRepository {
  get(userId: string, filmId: string): Promise<Rating | null>;
  /** Inserts or replaces the user's rating of the film (`createdAt`: of the first rating). */
  put(userId: string, filmId: string, score: number, now: Date, createdAt?: Date): Promise<Rating>;
  remove(userId: string, filmId: string): Promise<boolean>;
  listByUser(userId: string, limit: number, after?: Position): Promise<Slice<Rating>>;
  /** Current scores of some users for one film. */
  scoresOf(filmId: string, userIds: string[]): Promise<Map<string, number>>;
  counters(filmId: string): Promise<FilmCounters>;
  /** Records the change about to be applied (one document write). */
  markPending(filmId: string, pending: PendingChange<number>): Promise<void>;
  /** Stores new counters and clears the pending change (one document write). */
  storeCounters(filmId: string, count: number, sum: number): Promise<void>;
}

export interface StoredReview extends Review {
  pending?: PendingChange<VoteValue>;
}

export interface ReviewRepository {
  /** Throws ConflictError when the user already reviewed the film. */
  create(authorId: string, filmId: string, text: string, now: Date): Promise<Review>;
  /** Null for an unknown or malformed id. */
  get(id: string): Promise<StoredReview | null>;
  setText(id: string, text: string, now: Date): Promise<void>;
  /** Deletes the review and its votes. */
  remove(id: string): Promise<void>;
  listByFilm(
    filmId: string,
    sort: ReviewSort,
    limit: number,
    after?: Position,
  ): Promise<Slice<Review>>;
  getVote(reviewId: string, userId: string): Promise<VoteValue | null>;
  /**
   * Sets or withdraws the vote; `event`, when given, is written in the same document write as
   * the vote (the outbox entry the relay publishes), so the two cannot part.
   */
  setVote(
    reviewId: string,
    userId: string,
    value: VoteValue | null,
    now: Date,
    event?: ReviewEvent,
  ): Promise<void>;
  markPending(reviewId: string, pending: PendingChange<VoteValue>): Promise<void>;
  storeCounters(reviewId: string, likes: number, dislikes: number): Promise<void>;
}

/** An event of the reviews for the outbox (docs/contracts.md, exchange `ugc.events`). */
export interface ReviewEvent {
  routingKey: 'review.liked';
  payload: {
    review_id: string;
    film_id: string;
    author_id: string;
    liker_id: string;
    liked_at: string;
  };
}
