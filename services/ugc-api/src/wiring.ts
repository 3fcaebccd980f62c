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
import { ReviewEventsRelay } from './adapters/review-events.outbox';
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
  // review.liked: written into the vote's own document (the outbox entry), relayed to RabbitMQ.
  const relay = config.AMQP_URL
    ? new ReviewEventsRelay({
        collections: collections(db),
        amqpUrl: config.AMQP_URL,
        exchange: config.UGC_EVENTS_EXCHANGE,
        logger,
        pollMs: config.OUTBOX_POLL_MS,
      })
    : undefined;
  const useCases = await wireUseCases(db, {
    lockLeaseMs: config.LOCK_LEASE_MS,
    lockWaitMs: config.LOCK_WAIT_MS,
    logger,
    onReviewEvent: relay?.notify,
  });
  if (relay) {
    relay.start();
    lifecycle.onShutdown('review-events-relay', () => relay.stop());
  } else logger.warn('AMQP_URL is not set: review events wait on their votes');
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
    readiness: {
      mongodb: () => db.command({ ping: 1 }),
      revocations: revocations.check,
      outbox: async () =>
        relay
          ? {
              detail: `${relay.connected ? 'connected' : 'not connected'}; ${await relay.backlog()} waiting`,
            }
          : { detail: 'AMQP_URL not set: review events wait on their votes' },
    },
  };
}

export interface UseCaseOptions {
  lockLeaseMs?: number;
  lockWaitMs?: number;
  logger?: Logger;
  /** Called after a vote wrote an outbox event (wakes the relay). */
  onReviewEvent?: () => void;
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
    reviews: new ReviewsService(
      new MongoReviewRepository(c, { onEvent: options.onReviewEvent }),
      ratings,
      locks,
    ),
  };
}
