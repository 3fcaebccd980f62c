import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { collections } from '../src/adapters/mongo';
import { expectProblem, newFilmId, startHarness, type Harness } from './helpers';

describe('ugc-api ratings (MongoDB-compatible server)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('ratings');
  });
  afterAll(() => h?.close());

  /** count and sum recomputed from every rating document of the film. */
  async function recount(filmId: string): Promise<{ count: number; sum: number }> {
    const docs = await collections(h.db).ratings.find({ filmId }).toArray();
    return { count: docs.length, sum: docs.reduce((s, d) => s + d.score, 0) };
  }

  it('sets, changes and removes a rating, keeping the film summary', async () => {
    const filmId = newFilmId();
    const alice = { Authorization: `Bearer ${await h.token()}` };
    const bob = { Authorization: `Bearer ${await h.token()}` };

    const empty = await request(h.app).get(`/api/v1/ugc/films/${filmId}/rating`).set(alice);
    expect(empty.body).toEqual({ filmId, count: 0, sum: 0, average: null });

    const set = await request(h.app)
      .put(`/api/v1/ugc/ratings/${filmId}`)
      .set(alice)
      .send({ score: 7 })
      .expect(200);
    expect(set.body).toMatchObject({
      rating: { filmId, score: 7 },
      summary: { filmId, count: 1, sum: 7, average: 7 },
    });
    await request(h.app).put(`/api/v1/ugc/ratings/${filmId}`).set(bob).send({ score: 0 });
    const changed = await request(h.app)
      .put(`/api/v1/ugc/ratings/${filmId}`)
      .set(alice)
      .send({ score: 10 })
      .expect(200);
    expect(changed.body.summary).toEqual({ filmId, count: 2, sum: 10, average: 5 });
    expect(changed.body.rating.createdAt).toBe(set.body.rating.createdAt);

    expect(
      (await request(h.app).get(`/api/v1/ugc/ratings/${filmId}`).set(alice)).body,
    ).toMatchObject({ filmId, score: 10 });

    const removed = await request(h.app).delete(`/api/v1/ugc/ratings/${filmId}`).set(bob);
    expect(removed.body).toEqual({ filmId, count: 1, sum: 10, average: 10 });
    expectProblem(await request(h.app).delete(`/api/v1/ugc/ratings/${filmId}`).set(bob), 404);
    expectProblem(await request(h.app).get(`/api/v1/ugc/ratings/${filmId}`).set(bob), 404);
    expect((await request(h.app).get(`/api/v1/ugc/films/${filmId}/rating`).set(bob)).body).toEqual({
      filmId,
      count: 1,
      sum: 10,
      average: 10,
    });
    expect(await recount(filmId)).toEqual({ count: 1, sum: 10 });
  });

  it('lists my ratings, most recently changed first, with cursors', async () => {
    const auth = { Authorization: `Bearer ${await h.token()}` };
    const films = [newFilmId(), newFilmId(), newFilmId(), newFilmId(), newFilmId()];
    for (const [i, filmId] of films.entries()) {
      await request(h.app)
        .put(`/api/v1/ugc/ratings/${filmId}`)
        .set(auth)
        .send({ score: i })
        .expect(200);
    }
    const first = await request(h.app).get('/api/v1/ugc/ratings?limit=3').set(auth).expect(200);
    expect(first.body.items.map((r: { score: number }) => r.score)).toEqual([4, 3, 2]);
    const second = await request(h.app)
      .get('/api/v1/ugc/ratings')
      .query({ limit: 3, cursor: first.body.nextCursor })
      .set(auth)
      .expect(200);
    expect(second.body.items.map((r: { score: number }) => r.score)).toEqual([1, 0]);
    expect(second.body.nextCursor).toBeUndefined();
  });

  it('keeps the counters exact under many concurrent changes through two replicas', async () => {
    const filmId = newFilmId();
    const users = Array.from({ length: 12 }, () => randomUUID());
    const tokens = await Promise.all(users.map((u) => h.token(u)));
    // 8 rounds per user, fired all at once: set, change, sometimes remove, across both apps.
    const calls = tokens.flatMap((token, u) =>
      Array.from({ length: 8 }, (_, i) => {
        const app = (u + i) % 2 ? h.app : h.replica;
        const auth = { Authorization: `Bearer ${token}` };
        if (i % 5 === 4) return request(app).delete(`/api/v1/ugc/ratings/${filmId}`).set(auth);
        return request(app)
          .put(`/api/v1/ugc/ratings/${filmId}`)
          .set(auth)
          .send({ score: (u * 7 + i * 3) % 11 });
      }),
    );
    const answers = await Promise.all(calls);
    // Every answer is a success or "no rating to remove"; nothing failed.
    expect(answers.filter((r) => r.status !== 200 && r.status !== 404)).toEqual([]);
    expect(answers.filter((r) => r.status === 200).length).toBeGreaterThan(80);

    const summary = await request(h.app)
      .get(`/api/v1/ugc/films/${filmId}/rating`)
      .set({ Authorization: `Bearer ${tokens[0]}` });
    const truth = await recount(filmId);
    expect(truth.count).toBeGreaterThan(0);
    expect(summary.body).toEqual({
      filmId,
      ...truth,
      average: Math.round((truth.sum / truth.count) * 100) / 100,
    });
  });

  it('resolves a change left half-done by a crashed writer', async () => {
    const filmId = newFilmId();
    const userId = randomUUID();
    const auth = { Authorization: `Bearer ${await h.token(userId)}` };
    await request(h.app).put(`/api/v1/ugc/ratings/${filmId}`).set(auth).send({ score: 4 });
    // A writer recorded its change and wrote the rating, then died before the counters.
    const c = collections(h.db);
    await c.filmRatings.updateOne(
      { _id: filmId },
      { $set: { pending: { userId, from: 4, to: 9 } } },
    );
    await c.ratings.updateOne({ userId, filmId }, { $set: { score: 9 } });
    // and left its lock behind, already expired.
    await c.locks.insertOne({
      _id: `film-ratings:${filmId}`,
      owner: 'crashed',
      expiresAt: new Date(Date.now() - 1000),
    });

    const other = { Authorization: `Bearer ${await h.token()}` };
    const res = await request(h.app)
      .put(`/api/v1/ugc/ratings/${filmId}`)
      .set(other)
      .send({ score: 1 })
      .expect(200);
    expect(res.body.summary).toEqual({ filmId, count: 2, sum: 10, average: 5 });
    expect(await recount(filmId)).toEqual({ count: 2, sum: 10 });
    expect(await c.locks.countDocuments({ _id: `film-ratings:${filmId}` })).toBe(0);
  });
});
