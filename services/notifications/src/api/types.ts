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

export interface ChannelSwitches {
  email: boolean;
  in_app: boolean;
  sms: boolean;
}

export interface PreferenceCategories {
  security: ChannelSwitches;
  account: ChannelSwitches;
  new_films: ChannelSwitches;
  review_activity: ChannelSwitches;
  marketing: ChannelSwitches;
}

export interface QuietHoursDto {
  /** Local time HH:MM in the user's time zone. @pattern ^([01][0-9]|2[0-3]):[0-5][0-9]$ */
  start: string;
  /** @pattern ^([01][0-9]|2[0-3]):[0-5][0-9]$ */
  end: string;
}

export interface PreferencesDto {
  categories: PreferenceCategories;
  /** Category x channel pairs that cannot be turned off. */
  locked: Array<{ category: string; channel: string }>;
  locale: 'en' | 'ru';
  /** IANA time zone, e.g. Europe/Moscow. */
  timeZone: string;
  /** Non-urgent channels (SMS, non-transactional e-mail) wait until the end; null: none. */
  quietHours: QuietHoursDto | null;
}

export interface PartialChannelSwitches {
  email?: boolean;
  in_app?: boolean;
  sms?: boolean;
}

export interface PreferencesUpdate {
  /** Only the given switches change. */
  categories?: {
    security?: PartialChannelSwitches;
    account?: PartialChannelSwitches;
    new_films?: PartialChannelSwitches;
    review_activity?: PartialChannelSwitches;
    marketing?: PartialChannelSwitches;
  };
  locale?: 'en' | 'ru';
  /** @maxLength 64 */
  timeZone?: string;
  quietHours?: QuietHoursDto | null;
}

export interface UnsubscribeResult {
  unsubscribed: true;
  category: string;
}

export interface TemplateList {
  templates: string[];
}

export interface PreviewRequest {
  locale?: 'en' | 'ru';
  /** The template's variables; a missing one is a 422. */
  vars: Record<string, unknown>;
}

export interface PreviewDto {
  subject: string;
  html: string;
  text: string;
}
