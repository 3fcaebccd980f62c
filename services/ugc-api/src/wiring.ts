/** Builds the use cases over a MongoDB database. */
import type { Db } from 'mongodb';
import type { Logger } from '@cinema/logging';
import { MongoBookmarkRepository } from './adapters/bookmark.repository';
import { MongoLocks } from './adapters/lock.repository';
import { collections, ensureIndexes } from './adapters/mongo';
import { MongoRatingRepository } from './adapters/rating.repository';
import { MongoReviewRepository } from './adapters/review.repository';
import { BookmarksService } from './domain/bookmarks';
import { RatingsService } from './domain/ratings';
import { ReviewsService } from './domain/reviews';
import type { Services } from './ioc';

export interface WiringOptions {
  lockLeaseMs?: number;
  lockWaitMs?: number;
  logger?: Logger;
}

export async function wireServices(db: Db, options: WiringOptions = {}): Promise<Services> {
  const c = collections(db);
  await ensureIndexes(c);
  const locks = new MongoLocks(c, {
    leaseMs: options.lockLeaseMs ?? 10_000,
    waitMs: options.lockWaitMs ?? 5_000,
    logger: options.logger,
  });
  const ratings = new MongoRatingRepository(c);
  return {
    bookmarks: new BookmarksService(new MongoBookmarkRepository(c)),
    ratings: new RatingsService(ratings, locks),
    reviews: new ReviewsService(new MongoReviewRepository(c), ratings, locks),
  };
}
