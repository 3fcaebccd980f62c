/** The notifications' vocabulary and the ports of the use cases (no driver, no HTTP). */

export const CATEGORIES = [
  'security',
  'account',
  'new_films',
  'review_activity',
  'marketing',
] as const;
export type Category = (typeof CATEGORIES)[number];

export const CHANNELS = ['email', 'in_app', 'sms'] as const;
export type Channel = (typeof CHANNELS)[number];

/** Categories that cannot be turned off (on the channels that carry them). */
export const MANDATORY_CATEGORIES: readonly Category[] = ['security', 'account'];

/** Transactional mail (reset, verification, security alert): first in the queue, no unsubscribe. */
export const isTransactional = (category: Category): boolean =>
  MANDATORY_CATEGORIES.includes(category);

export const LOCALES = ['en', 'ru'] as const;
export type Locale = (typeof LOCALES)[number];

/** The projection of a user that notifications keeps (fed by auth.events). */
export interface Recipient {
  userId: string;
  email: string | null;
  emailVerified: boolean;
  locale: Locale;
  timeZone: string;
  phone: string | null;
  phoneVerified: boolean;
  firstName: string | null;
  roles: string[];
  /** Quiet hours in the user's local time, `HH:MM`; null: the service default. */
  quietHours: QuietHours | null;
  deletedAt: Date | null;
}

export interface QuietHours {
  start: string;
  end: string;
}

export type Clock = () => Date;
export const systemClock: Clock = () => new Date();

/* ---------- in-app inbox ---------- */

export interface InboxItem {
  id: string;
  category: Category;
  title: string;
  body: string;
  link: string | null;
  data: Record<string, unknown>;
  createdAt: Date;
  readAt: Date | null;
}

export interface NewInboxItem {
  userId: string;
  messageId: string;
  category: Category;
  title: string;
  body: string;
  link?: string | null;
  data?: Record<string, unknown>;
}

export interface InboxRepository {
  /** Newest first; `before` = an item id (keyset paging). */
  list(
    userId: string,
    options: { limit: number; before?: string; unreadOnly?: boolean },
  ): Promise<InboxItem[]>;
  /** Items with an id greater than `afterId`, oldest first (SSE resume). */
  since(userId: string, afterId: string, limit: number): Promise<InboxItem[]>;
  unreadCount(userId: string): Promise<number>;
  /** Marks one of the user's items read; false when the user has no such item. */
  markRead(userId: string, id: string): Promise<boolean>;
  markAllRead(userId: string): Promise<number>;
}

/** Live delivery of new inbox items to the user's open streams. */
export interface InboxFeed {
  subscribe(userId: string, listener: (item: InboxItem) => void): () => void;
}
