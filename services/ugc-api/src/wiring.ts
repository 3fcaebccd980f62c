/**
 * Builds every adapter and use case once and returns the one dependencies object the app serves
 * (controllers get it by constructor through tsoa's IoC module in @cinema/http).
 */
import type { Db } from 'mongodb';
import { createTokenVerifier, startRevocationFeed, type AuthDependencies } from '@cinema/auth';
import { jwksUrlOf } from '@cinema/config';
import type { Lifecycle, ReadinessCheck, ServiceRuntime } from '@cinema/http';
import type { Logger } from '@cinema/logging';
import { MongoBookmarkRepository } from './adapters/bookmark.repository';
import { MongoLocks } from './adapters/lock.repository';
import { collections, connectMongo, ensureIndexes } from './adapters/mongo';
import { MongoRatingRepository } from './adapters/rating.repository';
import { MongoReviewRepository } from './adapters/review.repository';
import type { Config } from './config';
import { BookmarksService } from './domain/bookmarks';
import { RatingsService } from './domain/ratings';
import { ReviewsService } from './domain/reviews';

/** The use cases, over one database. */
export interface UseCases {
  bookmarks: BookmarksService;
  ratings: RatingsService;
  reviews: ReviewsService;
}

export interface Dependencies extends UseCases, AuthDependencies {
  config: Pick<Config, 'CORS_ORIGINS' | 'BODY_LIMIT'>;
  logger: Logger;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
}

export async function wire({
  config,
  logger,
  lifecycle,
}: ServiceRuntime<Config>): Promise<Dependencies> {
  const { client, db } = await connectMongo(config.MONGODB_URL, config.MONGODB_DB);
  lifecycle.onShutdown('mongodb', () => client.close());
  const useCases = await wireUseCases(db, {
    lockLeaseMs: config.LOCK_LEASE_MS,
    lockWaitMs: config.LOCK_WAIT_MS,
    logger,
  });
  // Ended sessions (logout, ...) are refused within about a second.
  const revocations = startRevocationFeed(config, { logger, lifecycle });
  const verifier = createTokenVerifier({
    jwksUrl: jwksUrlOf(config),
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    revocations,
  });
  return {
    ...useCases,
    config,
    logger,
    lifecycle,
    verifier,
    readiness: { mongodb: () => db.command({ ping: 1 }), revocations: revocations.check },
  };
}

export interface UseCaseOptions {
  lockLeaseMs?: number;
  lockWaitMs?: number;
  logger?: Logger;
}

export async function wireUseCases(db: Db, options: UseCaseOptions = {}): Promise<UseCases> {
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
