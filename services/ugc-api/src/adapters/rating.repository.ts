import { ObjectId } from 'mongodb';
import type { Position } from '../domain/cursor';
import type { Rating } from '../domain/model';
import type { FilmCounters, PendingChange, RatingRepository, Slice } from '../domain/ports';
import { after, guard, type Collections, type RatingDoc } from './mongo';

const toRating = (d: RatingDoc): Rating => ({
  filmId: d.filmId,
  score: d.score,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
});

/** Ratings and per-film counters; callers hold the film's lock for every write. */
export class MongoRatingRepository implements RatingRepository {
  constructor(private readonly c: Collections) {}

  async get(userId: string, filmId: string): Promise<Rating | null> {
    const doc = await guard(() => this.c.ratings.findOne({ userId, filmId }));
    return doc && toRating(doc);
  }

  async put(
    userId: string,
    filmId: string,
    score: number,
    now: Date,
    createdAt: Date = now,
  ): Promise<Rating> {
    await guard(() =>
      this.c.ratings.updateOne(
        { userId, filmId },
        { $set: { score, updatedAt: now }, $setOnInsert: { createdAt } },
        { upsert: true },
      ),
    );
    return { filmId, score, createdAt, updatedAt: now };
  }

  async remove(userId: string, filmId: string): Promise<boolean> {
    const res = await guard(() => this.c.ratings.deleteOne({ userId, filmId }));
    return res.deletedCount === 1;
  }

  async listByUser(userId: string, limit: number, position?: Position): Promise<Slice<Rating>> {
    const filter = position
      ? { userId, ...after('updatedAt', new Date(position.key), new ObjectId(position.id)) }
      : { userId };
    const docs = await guard(() =>
      this.c.ratings
        .find(filter)
        .sort({ updatedAt: -1, _id: -1 })
        .limit(limit + 1)
        .toArray(),
    );
    const page = docs.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toRating),
      next:
        docs.length > limit && last
          ? { key: last.updatedAt.getTime(), id: last._id!.toHexString() }
          : undefined,
    };
  }

  async scoresOf(filmId: string, userIds: string[]): Promise<Map<string, number>> {
    const docs = await guard(() =>
      this.c.ratings
        .find({ filmId, userId: { $in: [...new Set(userIds)] } })
        .project<{ userId: string; score: number }>({ _id: 0, userId: 1, score: 1 })
        .toArray(),
    );
    return new Map(docs.map((d) => [d.userId, d.score]));
  }

  async counters(filmId: string): Promise<FilmCounters> {
    const doc = await guard(() => this.c.filmRatings.findOne({ _id: filmId }));
    return { count: doc?.count ?? 0, sum: doc?.sum ?? 0, pending: doc?.pending ?? undefined };
  }

  async markPending(filmId: string, pending: PendingChange<number>): Promise<void> {
    await guard(() =>
      this.c.filmRatings.updateOne(
        { _id: filmId },
        { $set: { pending }, $setOnInsert: { count: 0, sum: 0 } },
        { upsert: true },
      ),
    );
  }

  async storeCounters(filmId: string, count: number, sum: number): Promise<void> {
    await guard(() =>
      this.c.filmRatings.updateOne(
        { _id: filmId },
        { $set: { count, sum, pending: null } },
        { upsert: true },
      ),
    );
  }
}
