/**
 * Request and answer shapes of the API. The JSDoc tags are tsoa validators: a value that breaks
 * them (wrong type, an object such as `{"$gt": ""}` where a string is expected, too long, unknown
 * fields) is answered 422 before any controller runs.
 */
import type { Request } from 'express';
import type { Principal } from '@cinema/auth';
import type { Actor } from '../domain/model';

/**
 * A film id (UUID, as in the catalog).
 * @pattern ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$
 * @example "3d825f60-9fff-4dfe-b294-1a45fa1e115d"
 */
export type FilmId = string;

/**
 * A review id (24 hex digits).
 * @pattern ^[0-9a-f]{24}$
 * @example "665f1c2ab8e4a1d2c3b4a5f6"
 */
export type ReviewId = string;

/**
 * Page size.
 * @isInt
 * @minimum 1
 * @maximum 100
 */
export type PageLimit = number;

/**
 * An opaque cursor from the `nextCursor` of the previous page.
 * @minLength 1
 * @maxLength 200
 */
export type Cursor = string;

/**
 * A rating from 0 to 10.
 * @isInt
 * @minimum 0
 * @maximum 10
 */
export type Score = number;

/**
 * The text of a review: 1 to 5,000 characters, not only spaces.
 * @minLength 1
 * @maxLength 5000
 * @pattern \S
 */
export type ReviewText = string;

export interface AddBookmarkRequest {
  filmId: FilmId;
}

export interface BookmarkDto {
  filmId: string;
  createdAt: Date;
}

export interface BookmarkStatusDto {
  filmId: string;
  bookmarked: boolean;
  /** When the film was bookmarked, if it is. */
  createdAt?: Date;
}

export interface BookmarkPage {
  items: BookmarkDto[];
  /** Absent on the last page. */
  nextCursor?: string;
}

export interface SetRatingRequest {
  score: Score;
}

export interface RatingDto {
  filmId: string;
  score: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface RatingSummaryDto {
  filmId: string;
  /** How many users rated the film. */
  count: number;
  /** Sum of all scores. */
  sum: number;
  /** Average score rounded to two decimals; null when nobody rated the film. */
  average: number | null;
}

export interface RatingChangeDto {
  rating: RatingDto;
  summary: RatingSummaryDto;
}

export interface RatingPage {
  items: RatingDto[];
  nextCursor?: string;
}

export interface ReviewRequest {
  text: ReviewText;
}

export interface ReviewDto {
  id: string;
  filmId: string;
  authorId: string;
  text: string;
  createdAt: Date;
  updatedAt: Date;
  likes: number;
  dislikes: number;
  /** The author's current rating of the film, null when they have none. */
  authorRating: number | null;
}

export interface ReviewPage {
  items: ReviewDto[];
  nextCursor?: string;
}

export type VoteValue = 'like' | 'dislike';

export interface VoteRequest {
  value: VoteValue;
}

export interface VoteDto {
  /** The caller's vote on the review; null when they have not voted. */
  value: VoteValue | null;
}

export const actorOf = (req: Request): Actor => {
  const principal = (req as Request & { user: Principal }).user;
  return { id: principal.id, roles: principal.roles };
};
