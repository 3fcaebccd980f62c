/** The back-fill use case against fakes: paging, what it maps, and stopping between pages. */
import {
  backfillRecipients,
  recipientChangeOf,
  snapshotTime,
  type AuthUser,
  type AuthUsersSource,
} from '../src/domain/recipients-backfill';
import type { RecipientChange } from '../src/domain/model';
import { parseAuthUser } from '../src/adapters/auth.users';

const user = (n: number, extra: Partial<AuthUser> = {}): AuthUser => ({
  id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  email: `u${n}@example.test`,
  emailVerified: n % 2 === 0,
  firstName: `U${n}`,
  locale: null,
  timeZone: null,
  roles: ['public_user'],
  isActive: true,
  updatedAt: new Date('2026-05-01T10:00:00.750Z'),
  ...extra,
});

function source(all: AuthUser[]): AuthUsersSource & { calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    page: async (page, pageSize) => {
      calls.push(page);
      return { items: all.slice((page - 1) * pageSize, page * pageSize), total: all.length };
    },
  };
}

function projection(newerThanSnapshot: Set<string> = new Set()) {
  const applied: Array<{ change: RecipientChange; at: Date }> = [];
  return {
    applied,
    apply: async (change: RecipientChange, at: Date) => {
      if (newerThanSnapshot.has(change.userId)) return false;
      applied.push({ change, at });
      return true;
    },
  };
}

describe('recipients back-fill', () => {
  it('reads every page once and stops at the total (exact multiple too)', async () => {
    for (const [count, pages] of [
      [5, 3],
      [4, 2],
      [0, 1],
    ] as const) {
      const src = source(Array.from({ length: count }, (_, i) => user(i)));
      const proj = projection();
      const r = await backfillRecipients({ source: src, recipients: proj, pageSize: 2 });
      expect(r).toEqual({ seen: count, applied: count, skipped: 0, pages, complete: true });
      expect(src.calls).toEqual(Array.from({ length: pages }, (_, i) => i + 1));
    }
  });

  it('counts accounts the projection already has newer as skipped', async () => {
    const all = [user(1), user(2), user(3)];
    const proj = projection(new Set([all[1]!.id]));
    const r = await backfillRecipients({ source: source(all), recipients: proj, pageSize: 10 });
    expect(r).toMatchObject({ seen: 3, applied: 2, skipped: 1 });
  });

  it('applies each account as of its updatedAt, to the second (the events’ resolution)', async () => {
    const proj = projection();
    await backfillRecipients({ source: source([user(1)]), recipients: proj, pageSize: 10 });
    expect(proj.applied[0]!.at.toISOString()).toBe('2026-05-01T10:00:00.000Z');
    expect(snapshotTime(new Date('2026-05-01T10:00:59.999Z')).toISOString()).toBe(
      '2026-05-01T10:00:59.000Z',
    );
  });

  it('maps the language of the locale, a known time zone, and leaves the rest out', () => {
    expect(recipientChangeOf(user(1, { locale: 'ru-RU', timeZone: 'Europe/Moscow' }))).toEqual({
      userId: user(1).id,
      email: 'u1@example.test',
      emailVerified: false,
      firstName: 'U1',
      roles: ['public_user'],
      locale: 'ru',
      timeZone: 'Europe/Moscow',
    });
    const other = recipientChangeOf(user(2, { locale: 'de', timeZone: 'Mars/Base' }));
    expect(other).not.toHaveProperty('locale');
    expect(other).not.toHaveProperty('timeZone');
    expect(recipientChangeOf(user(3, { locale: 'en-GB' })).locale).toBe('en');
  });

  it('stops between pages when aborted (not complete: running it again finishes)', async () => {
    const abort = new AbortController();
    const src = source(Array.from({ length: 6 }, (_, i) => user(i)));
    const r = await backfillRecipients({
      source: src,
      recipients: projection(),
      pageSize: 2,
      signal: abort.signal,
      onPage: () => abort.abort(),
    });
    expect(r).toEqual({ seen: 2, applied: 2, skipped: 0, pages: 1, complete: false });
  });
});

describe("auth's users list items", () => {
  const item = {
    id: user(1).id,
    email: 'u1@example.test',
    emailVerified: true,
    firstName: null,
    lastName: null,
    locale: 'ru',
    timeZone: null,
    roles: ['public_user'],
    isActive: true,
    createdAt: '2026-05-01T09:00:00.000Z',
    updatedAt: '2026-05-01T10:00:00.750Z',
  };
  it('are read as the contract says', () => {
    expect(parseAuthUser(item)).toMatchObject({
      id: item.id,
      email: item.email,
      emailVerified: true,
      firstName: null,
      locale: 'ru',
      updatedAt: new Date(item.updatedAt),
    });
  });
  it.each([
    ['no id', { ...item, id: undefined }],
    ['roles not strings', { ...item, roles: [1] }],
    ['bad updatedAt', { ...item, updatedAt: 'yesterday' }],
    ['emailVerified not boolean', { ...item, emailVerified: 'yes' }],
    ['not an object', ['x']],
  ])('refuse an item with %s', (_what, bad) => {
    expect(() => parseAuthUser(bad)).toThrow(/contract shape/);
  });
});
