import { ObjectId } from 'mongodb';
import type { Position } from '../domain/cursor';
import type { Bookmark } from '../domain/model';
import type { BookmarkRepository, Slice } from '../domain/ports';
import { after, guard, type BookmarkDoc, type Collections } from './mongo';

const toBookmark = (d: BookmarkDoc): Bookmark => ({ filmId: d.filmId, createdAt: d.createdAt });

export class MongoBookmarkRepository implements BookmarkRepository {
  constructor(private readonly c: Collections) {}

  async add(userId: string, filmId: string, now: Date): Promise<Bookmark> {
    const doc: BookmarkDoc = { _id: new ObjectId(), userId, filmId, createdAt: now };
    await guard(() => this.c.bookmarks.insertOne(doc), 'the film is already bookmarked');
    return toBookmark(doc);
  }

  async remove(userId: string, filmId: string): Promise<boolean> {
    const res = await guard(() => this.c.bookmarks.deleteOne({ userId, filmId }));
    return res.deletedCount === 1;
  }

  async find(userId: string, filmId: string): Promise<Bookmark | null> {
    const doc = await guard(() => this.c.bookmarks.findOne({ userId, filmId }));
    return doc && toBookmark(doc);
  }

  async list(userId: string, limit: number, position?: Position): Promise<Slice<Bookmark>> {
    const filter = position
      ? { userId, ...after('createdAt', new Date(position.key), new ObjectId(position.id)) }
      : { userId };
    const docs = await guard(() =>
      this.c.bookmarks
        .find(filter)
        .sort({ createdAt: -1, _id: -1 })
        .limit(limit + 1)
        .toArray(),
    );
    const page = docs.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toBookmark),
      next:
        docs.length > limit && last
          ? { key: last.createdAt.getTime(), id: last._id!.toHexString() }
          : undefined,
    };
  }
}
