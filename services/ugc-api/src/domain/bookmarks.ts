import { NotFoundError } from '@cinema/errors';
import { decodeCursor, encodeCursor } from './cursor';
import type { Actor, Bookmark, Page } from './model';
import type { BookmarkRepository } from './ports';

export interface BookmarkStatus {
  filmId: string;
  bookmarked: boolean;
  createdAt?: Date;
}

export class BookmarksService {
  constructor(
    private readonly bookmarks: BookmarkRepository,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  add(actor: Actor, filmId: string): Promise<Bookmark> {
    return this.bookmarks.add(actor.id, filmId, this.clock());
  }

  async remove(actor: Actor, filmId: string): Promise<void> {
    if (!(await this.bookmarks.remove(actor.id, filmId)))
      throw new NotFoundError('the film is not bookmarked');
  }

  async status(actor: Actor, filmId: string): Promise<BookmarkStatus> {
    const found = await this.bookmarks.find(actor.id, filmId);
    return found
      ? { filmId, bookmarked: true, createdAt: found.createdAt }
      : { filmId, bookmarked: false };
  }

  async list(actor: Actor, limit: number, cursor?: string): Promise<Page<Bookmark>> {
    const slice = await this.bookmarks.list(actor.id, limit, decodeCursor('bookmarks', cursor));
    return {
      items: slice.items,
      nextCursor: slice.next && encodeCursor('bookmarks', slice.next),
    };
  }
}
