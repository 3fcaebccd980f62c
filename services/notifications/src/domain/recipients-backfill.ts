/**
 * The one-time back-fill of the recipients projection from auth's admin users list
 * (`GET /api/v1/auth/users`, docs/contracts.md), for accounts made before notifications consumed
 * `auth.events`. Each account is applied through the projection's own ordering rule: as of its
 * `updatedAt` (to the second, the resolution of the events' AMQP timestamp), so a newer event
 * already applied wins and a deleted recipient stays erased. Running it again changes nothing.
 */
import { isTimeZone } from './preferences';
import { LOCALES, type Locale, type RecipientChange, type RecipientsRepository } from './model';

/** An account as auth's admin list gives it. */
export interface AuthUser {
  id: string;
  email: string;
  emailVerified: boolean;
  firstName: string | null;
  locale?: string | null;
  timeZone?: string | null;
  phone?: string | null;
  phoneVerified?: boolean;
  roles: string[];
  isActive: boolean;
  updatedAt: Date;
}

export interface AuthUsersSource {
  page(page: number, pageSize: number): Promise<{ items: AuthUser[]; total: number }>;
}

export interface BackfillResult {
  /** Accounts auth listed. */
  seen: number;
  /** Applied to the projection (new, or newer than what it had). */
  applied: number;
  /** Left alone: the projection had a newer event, or the recipient was deleted. */
  skipped: number;
  pages: number;
  /** false: stopped (shutdown) before the last page; running it again finishes the work. */
  complete: boolean;
}

/** What the projection learns from one listed account (unknown locales and zones are left out). */
export function recipientChangeOf(u: AuthUser): RecipientChange {
  const change: RecipientChange = {
    userId: u.id,
    email: u.email,
    emailVerified: u.emailVerified,
    firstName: u.firstName,
    roles: u.roles,
  };
  const short = u.locale?.slice(0, 2).toLowerCase();
  if (short && (LOCALES as readonly string[]).includes(short)) change.locale = short as Locale;
  if (u.timeZone && isTimeZone(u.timeZone)) change.timeZone = u.timeZone;
  if (u.phone !== undefined) change.phone = u.phone;
  if (u.phoneVerified !== undefined) change.phoneVerified = u.phoneVerified;
  return change;
}

/** The instant an account's snapshot stands for, at the events' resolution (seconds). */
export const snapshotTime = (updatedAt: Date) =>
  new Date(Math.floor(updatedAt.getTime() / 1000) * 1000);

export async function backfillRecipients(o: {
  source: AuthUsersSource;
  recipients: Pick<RecipientsRepository, 'apply'>;
  pageSize: number;
  onPage?: (done: number, total: number) => void;
  /** Stops between pages (shutdown). */
  signal?: AbortSignal;
}): Promise<BackfillResult> {
  const result: BackfillResult = { seen: 0, applied: 0, skipped: 0, pages: 0, complete: false };
  for (let page = 1; ; page++) {
    if (o.signal?.aborted) return result;
    const { items, total } = await o.source.page(page, o.pageSize);
    result.pages++;
    for (const user of items) {
      result.seen++;
      const applied = await o.recipients.apply(
        recipientChangeOf(user),
        snapshotTime(user.updatedAt),
      );
      if (applied) result.applied++;
      else result.skipped++;
    }
    o.onPage?.(result.seen, total);
    if (items.length < o.pageSize || page * o.pageSize >= total) {
      result.complete = true;
      return result;
    }
  }
}
