import { ObjectId } from 'mongodb';
import type { Position } from '../domain/cursor';
import type { Review, ReviewSort, VoteValue } from '../domain/model';
import type {
  PendingChange,
  ReviewEvent,
  ReviewRepository,
  Slice,
  StoredReview,
} from '../domain/ports';
import { after, guard, type Collections, type ReviewDoc } from './mongo';
import { outboxFields } from './review-events.outbox';

const OBJECT_ID = /^[0-9a-f]{24}$/;
const objectId = (id: string): ObjectId | null => (OBJECT_ID.test(id) ? new ObjectId(id) : null);

const toReview = (d: ReviewDoc): Review => ({
  id: d._id!.toHexString(),
  filmId: d.filmId,
  authorId: d.userId,
  text: d.text,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
  likes: d.likes,
  dislikes: d.dislikes,
});

/** Reviews and their votes; callers hold the review's lock for every write but create. */
export interface ReviewRepositoryOptions {
  /** Called after a vote wrote an outbox event (wakes the relay). */
  onEvent?: () => void;
}

export class MongoReviewRepository implements ReviewRepository {
  constructor(
    private readonly c: Collections,
    private readonly options: ReviewRepositoryOptions = {},
  ) {}

  async create(authorId: string, filmId: string, text: string, now: Date): Promise<Review> {
    const doc: ReviewDoc = {
      _id: new ObjectId(),
      filmId,
      userId: authorId,
      text,
      createdAt: now,
      updatedAt: now,
      likes: 0,
      dislikes: 0,
      pending: null,
    };
    await guard(() => this.c.reviews.insertOne(doc), 'you have already reviewed this film');
    return toReview(doc);
  }

  async get(id: string): Promise<StoredReview | null> {
    const _id = objectId(id);
    if (!_id) return null;
    const doc = await guard(() => this.c.reviews.findOne({ _id }));
    return doc && { ...toReview(doc), pending: doc.pending ?? undefined };
  }

  async setText(id: string, text: string, now: Date): Promise<void> {
    const _id = objectId(id);
    if (_id)
      await guard(() => this.c.reviews.updateOne({ _id }, { $set: { text, updatedAt: now } }));
  }

  async remove(id: string): Promise<void> {
    const _id = objectId(id);
    if (!_id) return;
    await guard(() => this.c.reviews.deleteOne({ _id }));
    await guard(() => this.c.reviewVotes.deleteMany({ reviewId: _id }));
  }

  async listByFilm(
    filmId: string,
    sort: ReviewSort,
    limit: number,
    position?: Position,
  ): Promise<Slice<Review>> {
    const field = sort === 'likes' ? 'likes' : 'createdAt';
    const filter = position
      ? {
          filmId,
          ...after(
            field,
            sort === 'likes' ? position.key : new Date(position.key),
            new ObjectId(position.id),
          ),
        }
      : { filmId };
    const docs = await guard(() =>
      this.c.reviews
        .find(filter)
        .sort({ [field]: -1, _id: -1 })
        .limit(limit + 1)
        .toArray(),
    );
    const page = docs.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toReview),
      next:
        docs.length > limit && last
          ? {
              key: sort === 'likes' ? last.likes : last.createdAt.getTime(),
              id: last._id!.toHexString(),
            }
          : undefined,
    };
  }

  async getVote(reviewId: string, userId: string): Promise<VoteValue | null> {
    const _id = objectId(reviewId);
    if (!_id) return null;
    const doc = await guard(() => this.c.reviewVotes.findOne({ reviewId: _id, userId }));
    return doc?.value ?? null;
  }

  async setVote(
    reviewId: string,
    userId: string,
    value: VoteValue | null,
    now: Date,
    event?: ReviewEvent,
  ): Promise<void> {
    const _id = objectId(reviewId);
    if (!_id) return;
    if (value === null) {
      // A withdrawn vote takes its unpublished event with it (the like is no more).
      await guard(() => this.c.reviewVotes.deleteOne({ reviewId: _id, userId }));
      return;
    }
    await guard(() =>
      this.c.reviewVotes.updateOne(
        { reviewId: _id, userId },
        {
          $set: { value, ...(event ? outboxFields(event, now) : {}) },
          $setOnInsert: { createdAt: now },
        },
        { upsert: true },
      ),
    );
    if (event) this.options.onEvent?.();
  }

  async markPending(reviewId: string, pending: PendingChange<VoteValue>): Promise<void> {
    const _id = objectId(reviewId);
    if (_id) await guard(() => this.c.reviews.updateOne({ _id }, { $set: { pending } }));
  }

  async storeCounters(reviewId: string, likes: number, dislikes: number): Promise<void> {
    const _id = objectId(reviewId);
    if (_id)
      await guard(() =>
        this.c.reviews.updateOne({ _id }, { $set: { likes, dislikes, pending: null } }),
      );
  }
}
