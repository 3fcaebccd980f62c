import request from 'supertest';
import { expectProblem, newFilmId, startHarness, type Harness } from './helpers';

describe('ugc-api bookmarks (MongoDB-compatible server)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('bookmarks');
  });
  afterAll(() => h?.close());

  it('adds, refuses a duplicate with 409, checks and removes a bookmark', async () => {
    const token = await h.token();
    const filmId = newFilmId();
    const auth = { Authorization: `Bearer ${token}` };

    expect((await request(h.app).get(`/api/v1/ugc/bookmarks/${filmId}`).set(auth)).body).toEqual({
      filmId,
      bookmarked: false,
    });

    const added = await request(h.app).post('/api/v1/ugc/bookmarks').set(auth).send({ filmId });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ filmId, createdAt: expect.any(String) });

    const again = await request(h.app).post('/api/v1/ugc/bookmarks').set(auth).send({ filmId });
    expectProblem(again, 409);

    const status = await request(h.app).get(`/api/v1/ugc/bookmarks/${filmId}`).set(auth);
    expect(status.body).toEqual({ filmId, bookmarked: true, createdAt: added.body.createdAt });

    // Another user does not see it.
    const other = { Authorization: `Bearer ${await h.token()}` };
    expect(
      (await request(h.app).get(`/api/v1/ugc/bookmarks/${filmId}`).set(other)).body.bookmarked,
    ).toBe(false);
    expectProblem(await request(h.app).delete(`/api/v1/ugc/bookmarks/${filmId}`).set(other), 404);

    expect((await request(h.app).delete(`/api/v1/ugc/bookmarks/${filmId}`).set(auth)).status).toBe(
      204,
    );
    expectProblem(await request(h.app).delete(`/api/v1/ugc/bookmarks/${filmId}`).set(auth), 404);
    expect(
      (await request(h.app).get(`/api/v1/ugc/bookmarks/${filmId}`).set(auth)).body.bookmarked,
    ).toBe(false);
  });

  it('lists only my bookmarks, newest first, page by page with cursors', async () => {
    const auth = { Authorization: `Bearer ${await h.token()}` };
    const films: string[] = [];
    for (let i = 0; i < 7; i++) {
      const filmId = newFilmId();
      films.push(filmId);
      await request(h.app).post('/api/v1/ugc/bookmarks').set(auth).send({ filmId }).expect(201);
    }
    // Someone else's bookmark must not appear.
    await request(h.app)
      .post('/api/v1/ugc/bookmarks')
      .set({ Authorization: `Bearer ${await h.token()}` })
      .send({ filmId: newFilmId() })
      .expect(201);

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await request(h.app)
        .get('/api/v1/ugc/bookmarks')
        .query({ limit: 3, ...(cursor ? { cursor } : {}) })
        .set(auth)
        .expect(200);
      seen.push(...res.body.items.map((b: { filmId: string }) => b.filmId));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...films].reverse());
  });

  it('answers 401 problem+json without a valid token', async () => {
    expectProblem(await request(h.app).get('/api/v1/ugc/bookmarks'), 401);
    expectProblem(
      await request(h.app).get('/api/v1/ugc/bookmarks').set('Authorization', 'Bearer a.b.c'),
      401,
    );
    const expired = await h.token(undefined, ['public_user'], { expiresIn: '-1m' });
    expectProblem(
      await request(h.app).get('/api/v1/ugc/bookmarks').set('Authorization', `Bearer ${expired}`),
      401,
    );
  });
});
