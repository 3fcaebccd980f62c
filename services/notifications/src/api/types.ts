import type { Request } from 'express';
import type { Principal } from '@cinema/auth';
import type { InboxItem } from '../domain/model';

export const userOf = (req: Request): Principal => (req as Request & { user: Principal }).user;

/** @pattern ^[1-9][0-9]{0,17}$ */
export type ItemId = string;

export interface InboxItemDto {
  id: ItemId;
  category: string;
  title: string;
  body: string;
  link: string | null;
  data: Record<string, unknown>;
  /** @format date-time */
  createdAt: string;
  /** @format date-time */
  readAt: string | null;
}

export interface InboxPage {
  items: InboxItemDto[];
  /** Pass as `before` for the next (older) page; null at the end. */
  next: string | null;
}

export interface UnreadCount {
  unread: number;
}

export interface MarkedRead {
  marked: number;
}

export const itemDto = (i: InboxItem): InboxItemDto => ({
  id: i.id,
  category: i.category,
  title: i.title,
  body: i.body,
  link: i.link,
  data: i.data,
  createdAt: i.createdAt.toISOString(),
  readAt: i.readAt ? i.readAt.toISOString() : null,
});
