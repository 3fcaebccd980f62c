/**
 * Unit tests (no I/O) of the film.published and review.liked use cases against fakes of their
 * ports: payload checks, who is announced to, the digest's window logic through a fake store.
 */
import { ValidationError } from '@cinema/errors';
import { CatalogEventsHandler, parseFilmPublished } from '../src/domain/catalog-events';
import { checkGenres } from '../src/domain/genres';
import type { NotifyRequest } from '../src/domain/notifier';
import {
  parseReviewLiked,
  ReviewLikesDigest,
  type ClosedWindow,
  type ReviewLiked,
  type ReviewLikesStore,
} from '../src/domain/review-likes';

const FILM = '5b6f1a2e-8c9d-4e0f-a1b2-c3d4e5f6a7b8';
const G1 = { id: '11111111-1111-4111-8111-111111111111', name: 'Drama' };
const G2 = { id: '22222222-2222-4222-8222-222222222222', name: 'Noir' };
const U = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('film.published', () => {
  const payload = {
    film_id: FILM,
    title: ' Title ',
    release_date: '2026-12-24',
    genres: [G1, G2],
  };

  test('parses a good payload, refuses a malformed one with every problem', () => {
    expect(parseFilmPublished(payload)).toEqual({
      filmId: FILM,
      title: 'Title',
      releaseDate: '2026-12-24',
      genres: [G1, G2],
    });
    expect(() =>
      parseFilmPublished({ ...payload, film_id: 'x', release_date: '24.12.2026' }),
    ).toThrow(/film_id: a UUID; release_date: YYYY-MM-DD/);
    expect(() => parseFilmPublished({ ...payload, genres: [{ id: 'x', name: 'a' }] })).toThrow(
      ValidationError,
    );
    expect(() => parseFilmPublished(null)).toThrow(ValidationError);
  });

  test('notifies every follower page by page with the message id, nobody for a genre-less film', async () => {
    const followers = [U(1), U(2), U(3), U(4), U(5)];
    const asked: Array<string | null> = [];
    const sent: NotifyRequest[] = [];
    const handler = new CatalogEventsHandler({
      followers: {
        followers: async (genres, after, limit) => {
          expect(genres).toEqual([G1, G2]);
          asked.push(after);
          const from = after ? followers.indexOf(after) + 1 : 0;
          return followers.slice(from, from + limit);
        },
      },
      notifier: { notify: async (r) => sent.push(r) },
      filmUrl: (id) => `https://cinema.test/player/?film=${id}`,
      pageSize: 2,
      concurrency: 2,
    });
    expect(await handler.handle({ messageId: 'm1', routingKey: 'film.published', payload })).toBe(
      5,
    );
    expect(asked).toEqual([null, U(2), U(4)]);
    expect(sent.map((r) => r.userId)).toEqual(followers);
    expect(sent[0]).toMatchObject({
      messageId: 'm1',
      category: 'new_films',
      template: 'new_film',
      channels: ['email', 'in_app'],
      vars: {
        title: 'Title',
        genres: 'Drama, Noir',
        film_url: `https://cinema.test/player/?film=${FILM}`,
      },
    });
    sent.length = 0;
    expect(
      await handler.handle({
        messageId: 'm2',
        routingKey: 'film.published',
        payload: { ...payload, genres: [] },
      }),
    ).toBe(0);
    expect(sent).toHaveLength(0);
  });
});

describe('genre opt-ins', () => {
  test('names or { name, id }, deduplicated case-insensitively; every bad entry listed', () => {
    expect(checkGenres(['Drama', { name: 'Noir', id: G2.id.toUpperCase() }, 'drama'])).toEqual([
      { name: 'drama', id: null },
      { name: 'Noir', id: G2.id },
    ]);
    try {
      checkGenres(['ok', '<b>', { name: 'x', id: 'nope' }]);
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect(Object.keys((err as ValidationError & { fields: object }).fields ?? {})).toEqual(
        expect.arrayContaining(['body.genres.1.name', 'body.genres.2.id']),
      );
    }
    expect(() => checkGenres('Drama')).toThrow(ValidationError);
    expect(() => checkGenres(Array.from({ length: 101 }, (_, i) => `g${i}`))).toThrow(
      ValidationError,
    );
  });
});

/** The store's window logic in memory (what PgReviewLikesRepository does in SQL). */
class FakeStore implements ReviewLikesStore {
  seen = new Set<string>();
  windows: Array<
    ClosedWindow & { closesAt: number; closed: boolean; sent: boolean; likerIds: Set<string> }
  > = [];

  async record(
    messageId: string,
    like: ReviewLiked,
    now: Date,
    windowMs: number,
  ): Promise<boolean> {
    if (this.seen.has(messageId)) return false;
    this.seen.add(messageId);
    let w = this.windows.find((x) => x.reviewId === like.reviewId && !x.closed);
    if (w && w.closesAt <= now.getTime()) {
      this.close(w);
      w = undefined;
    }
    if (!w) {
      w = {
        id: String(this.windows.length + 1),
        reviewId: like.reviewId,
        filmId: like.filmId,
        authorId: like.authorId,
        likers: 0,
        closesAt: now.getTime() + windowMs,
        closed: false,
        sent: false,
        likerIds: new Set(),
      };
      this.windows.push(w);
    }
    w.likerIds.add(like.likerId);
    return true;
  }
  private close(w: FakeStore['windows'][number]) {
    w.closed = true;
    w.likers = w.likerIds.size;
  }
  async closeDue(now: Date): Promise<number> {
    const due = this.windows.filter((w) => !w.closed && w.closesAt <= now.getTime());
    due.forEach((w) => this.close(w));
    return due.length;
  }
  async unsent(): Promise<ClosedWindow[]> {
    return this.windows.filter((w) => w.closed && !w.sent);
  }
  async markSent(id: string): Promise<void> {
    this.windows.find((w) => w.id === id)!.sent = true;
  }
  async cleanup(): Promise<void> {}
}

describe('review.liked digest', () => {
  const REVIEW = 'a'.repeat(24);
  const like = (liker: string) => ({
    review_id: REVIEW,
    film_id: FILM,
    author_id: U(100),
    liker_id: liker,
    liked_at: '2026-06-01T12:00:00.000Z',
  });

  test('refuses malformed payloads', () => {
    expect(() => parseReviewLiked({ ...like(U(1)), review_id: 'x' })).toThrow(/review_id/);
    expect(() => parseReviewLiked({ ...like(U(1)), liker_id: 1 })).toThrow(/liker_id: a UUID/);
  });

  test('one notice per review per hour with the number of distinct people; nothing twice', async () => {
    let now = new Date('2026-06-01T12:00:00Z');
    const sent: NotifyRequest[] = [];
    const store = new FakeStore();
    const digest = new ReviewLikesDigest({
      store,
      notifier: { notify: async (r) => sent.push(r) },
      clock: () => now,
      windowMs: 3_600_000,
      reviewUrl: (r) => `https://cinema.test/reviews/${r.reviewId}`,
    });
    const msg = (id: string, liker: string) => ({
      messageId: id,
      routingKey: 'review.liked',
      payload: like(liker),
    });
    for (let i = 1; i <= 5; i++) expect(await digest.handle(msg(`m${i}`, U(i)))).toBe(true);
    expect(await digest.handle(msg('m1', U(1)))).toBe(false); // republished
    expect(await digest.handle(msg('m6', U(2)))).toBe(true); // same person again
    expect(await digest.handle(msg('m7', U(100)))).toBe(false); // the author's own like
    expect(await digest.flush()).toBe(0);
    now = new Date('2026-06-01T13:00:00Z');
    expect(await digest.flush()).toBe(1);
    expect(sent).toEqual([
      expect.objectContaining({
        messageId: 'review-likes:1',
        userId: U(100),
        category: 'review_activity',
        template: 'review_liked',
        channels: ['in_app'],
        vars: expect.objectContaining({
          count: 5,
          one: false,
          review_url: `https://cinema.test/reviews/${REVIEW}`,
        }),
      }),
    ]);
    expect(await digest.flush()).toBe(0);
    // A like after the hour opens the next window; the one after that hour closes it.
    expect(await digest.handle(msg('m8', U(9)))).toBe(true);
    now = new Date('2026-06-01T14:00:01Z');
    expect(await digest.handle(msg('m9', U(10)))).toBe(true);
    expect(await digest.flush()).toBe(1);
    expect(sent[1]).toMatchObject({ messageId: 'review-likes:2', vars: { count: 1, one: true } });
  });
});
