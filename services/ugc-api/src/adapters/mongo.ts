/**
 * The MongoDB connection, the collections and their indexes, and the mapping of driver errors to
 * named errors. Only features that both MongoDB and FerretDB v1 support are used: unique and
 * compound indexes, find with sort/limit and `$or`/`$in`, insert, update with `$set`, delete.
 */
import { ConflictError, ServiceUnavailableError } from '@cinema/http';
import {
  MongoClient,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type Collection,
  type Db,
  type Document,
  type ObjectId,
} from 'mongodb';

export interface BookmarkDoc {
  _id?: ObjectId;
  userId: string;
  filmId: string;
  createdAt: Date;
}

export interface RatingDoc {
  _id?: ObjectId;
  userId: string;
  filmId: string;
  score: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface PendingDoc<V> {
  userId: string;
  from: V | null;
  to: V | null;
}

/** Per-film rating counters, `_id` is the film id. */
export interface FilmRatingDoc {
  _id: string;
  count: number;
  sum: number;
  pending: PendingDoc<number> | null;
}

export interface ReviewDoc {
  _id?: ObjectId;
  filmId: string;
  userId: string;
  text: string;
  createdAt: Date;
  updatedAt: Date;
  likes: number;
  dislikes: number;
  pending: PendingDoc<'like' | 'dislike'> | null;
}

export interface ReviewVoteDoc {
  _id?: ObjectId;
  reviewId: ObjectId;
  userId: string;
  value: 'like' | 'dislike';
  createdAt: Date;
  /**
   * The vote's outbox entry (review-events.outbox.ts): the event written in the same document
   * write as the vote (FerretDB has no multi-document transactions), relayed to RabbitMQ.
   */
  outbox?: OutboxEntry;
  /** True while `outbox` waits to be published (the relay's query). */
  outboxPending?: boolean;
}

export interface OutboxEntry {
  /** The AMQP message id and the payload's `message_id`. */
  messageId: string;
  routingKey: string;
  payload: Record<string, unknown>;
  createdAt: Date;
  attempts: number;
  lastError?: string;
}

export interface LockDoc {
  _id: string;
  owner: string;
  expiresAt: Date;
}

export interface Collections {
  bookmarks: Collection<BookmarkDoc>;
  ratings: Collection<RatingDoc>;
  filmRatings: Collection<FilmRatingDoc>;
  reviews: Collection<ReviewDoc>;
  reviewVotes: Collection<ReviewVoteDoc>;
  locks: Collection<LockDoc>;
}

export function collections(db: Db): Collections {
  return {
    bookmarks: db.collection<BookmarkDoc>('bookmarks'),
    ratings: db.collection<RatingDoc>('ratings'),
    filmRatings: db.collection<FilmRatingDoc>('film_ratings'),
    reviews: db.collection<ReviewDoc>('reviews'),
    reviewVotes: db.collection<ReviewVoteDoc>('review_votes'),
    locks: db.collection<LockDoc>('locks'),
  };
}

type IndexSpecs = Parameters<Collection['createIndexes']>[0];

const INDEXES: Array<[keyof Collections, IndexSpecs]> = [
  [
    'bookmarks',
    [
      { key: { userId: 1, filmId: 1 }, name: 'user_film_unique', unique: true },
      { key: { userId: 1, createdAt: -1, _id: -1 }, name: 'user_newest' },
    ],
  ],
  [
    'ratings',
    [
      { key: { userId: 1, filmId: 1 }, name: 'user_film_unique', unique: true },
      { key: { userId: 1, updatedAt: -1, _id: -1 }, name: 'user_newest' },
      { key: { filmId: 1, userId: 1 }, name: 'film_user' },
    ],
  ],
  [
    'reviews',
    [
      { key: { userId: 1, filmId: 1 }, name: 'user_film_unique', unique: true },
      { key: { filmId: 1, createdAt: -1, _id: -1 }, name: 'film_newest' },
      { key: { filmId: 1, likes: -1, _id: -1 }, name: 'film_most_liked' },
    ],
  ],
  [
    'reviewVotes',
    [
      { key: { reviewId: 1, userId: 1 }, name: 'review_user_unique', unique: true },
      { key: { outboxPending: 1, createdAt: 1 }, name: 'outbox_pending' },
    ],
  ],
];

/**
 * Creates the missing indexes. The unique ones enforce "one per user and film". Existing
 * indexes are looked up by name and not created again, and collections are done one after
 * another: FerretDB v1 (SQLite) drops the connection on re-creating an existing compound index
 * and on concurrent first creation of collections.
 */
export async function ensureIndexes(c: Collections): Promise<void> {
  for (const [name, specs] of INDEXES) {
    const collection = c[name] as unknown as Collection;
    const existing = new Set(
      (
        await collection
          .listIndexes()
          .toArray()
          .catch(() => [])
      ).map((i) => i.name as string),
    );
    const missing = specs.filter((spec) => !existing.has(spec.name!));
    if (missing.length) await collection.createIndexes(missing);
  }
}

export async function connectMongo(
  url: string,
  dbName: string,
): Promise<{ client: MongoClient; db: Db }> {
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: 5_000,
    appName: 'ugc-api',
    maxPoolSize: 50,
  });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`cannot reach MongoDB: ${(err as Error).message}`);
  }
  return { client, db: client.db(dbName) };
}

export const isDuplicateKey = (err: unknown): boolean =>
  err instanceof MongoServerError && err.code === 11000;

/** Runs a driver call, turning duplicate keys into 409 and outages into 503. */
export async function guard<T>(call: () => Promise<T>, conflict?: string): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (conflict !== undefined && isDuplicateKey(err)) throw new ConflictError(conflict);
    if (
      err instanceof MongoServerSelectionError ||
      err instanceof MongoNetworkError ||
      err instanceof MongoNotConnectedError ||
      err instanceof MongoTopologyClosedError
    ) {
      throw new ServiceUnavailableError('the database is unavailable', 5);
    }
    throw err;
  }
}

/** `{ $or: [{ key < k }, { key = k, _id < id }] }`: the items after a position, newest first. */
export function after(field: string, key: unknown, id: ObjectId): Document {
  return { $or: [{ [field]: { $lt: key } }, { [field]: key, _id: { $lt: id } }] };
}
