import { NotFoundError } from '@cinema/errors';
import type { InboxFeed, InboxItem, InboxRepository } from './model';

/** The user's in-app inbox: every call is scoped to the caller's own id (no other user's item). */
export class InboxService {
  constructor(
    private readonly items: InboxRepository,
    private readonly feed: InboxFeed,
  ) {}

  list(
    userId: string,
    options: { limit: number; before?: string; unreadOnly?: boolean },
  ): Promise<InboxItem[]> {
    return this.items.list(userId, options);
  }

  unreadCount(userId: string): Promise<number> {
    return this.items.unreadCount(userId);
  }

  async markRead(userId: string, id: string): Promise<void> {
    // Another user's item answers as a missing one (no probing of ids).
    if (!(await this.items.markRead(userId, id))) throw new NotFoundError('no such notification');
  }

  markAllRead(userId: string): Promise<number> {
    return this.items.markAllRead(userId);
  }

  /** Items after `lastEventId` (a resumed stream), oldest first. */
  missed(userId: string, lastEventId: string, limit = 500): Promise<InboxItem[]> {
    return this.items.since(userId, lastEventId, limit);
  }

  subscribe(userId: string, listener: (item: InboxItem) => void): () => void {
    return this.feed.subscribe(userId, listener);
  }
}
