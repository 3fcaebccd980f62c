/** What the service stores and answers, independent of the database driver. */

export interface Actor {
  /** User id (the access token's `sub`). */
  id: string;
  roles: readonly string[];
}

export const MODERATOR_ROLES = ['admin', 'super_user'] as const;

export const isModerator = (actor: Actor): boolean =>
  actor.roles.some((r) => (MODERATOR_ROLES as readonly string[]).includes(r));

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  nextCursor?: string;
}

export interface Bookmark {
  filmId: string;
  createdAt: Date;
}

export interface Rating {
  filmId: string;
  /** 0 to 10. */
  score: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface RatingSummary {
  filmId: string;
  /** How many users rated the film. */
  count: number;
  /** Sum of all scores. */
  sum: number;
  /** sum / count rounded to two decimals; null when nobody rated the film. */
  average: number | null;
}

export type VoteValue = 'like' | 'dislike';

export interface Review {
  id: string;
  filmId: string;
  authorId: string;
  text: string;
  createdAt: Date;
  updatedAt: Date;
  likes: number;
  dislikes: number;
}

export interface ReviewView extends Review {
  /** The author's current rating of the film, null when they have none. */
  authorRating: number | null;
}

export type ReviewSort = 'newest' | 'likes';

export const summaryOf = (filmId: string, count: number, sum: number): RatingSummary => ({
  filmId,
  count,
  sum,
  average: count > 0 ? Math.round((sum / count) * 100) / 100 : null,
});
