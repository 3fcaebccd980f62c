import { randomUUID } from 'node:crypto';
import { ObjectId } from 'mongodb';
import request from 'supertest';
import { collections } from '../src/adapters/mongo';
import { expectProblem, newFilmId, startHarness, type Harness } from './helpers';

describe('ugc-api reviews (MongoDB-compatible server)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('reviews');
  });
  afterAll(() => h?.close());

  const bearer = async (userId = randomUUID(), roles = ['public_user']) => ({
    Authorization: `Bearer ${await h.token(userId, roles)}`,
  });

  it('creates one review per user and film, shows the author rating, edits and deletes', async () => {
    const filmId = newFilmId();
    const authorId = randomUUID();
    const author = await bearer(authorId);
    const stranger = await bearer();

    const created = await request(h.app)
      .post(`/api/v1/ugc/films/${filmId}/reviews`)
      .set(author)
      .send({ text: 'A slow, beautiful film.' })
      .expect(201);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      filmId,
      authorId,
      text: 'A slow, beautiful film.',
      likes: 0,
      dislikes: 0,
      authorRating: null,
    });
    const id = created.body.id as string;
    expectProblem(
      await request(h.app)
        .post(`/api/v1/ugc/films/${filmId}/reviews`)
        .set(author)
        .send({ text: 'again' }),
      409,
    );

    await request(h.app).put(`/api/v1/ugc/ratings/${filmId}`).set(author).send({ score: 8 });
    expect(
      (await request(h.app).get(`/api/v1/ugc/reviews/${id}`).set(stranger)).body,
    ).toMatchObject({ id, authorRating: 8 });

    expectProblem(
      await request(h.app).patch(`/api/v1/ugc/reviews/${id}`).set(stranger).send({ text: 'mine' }),
      403,
    );
    const edited = await request(h.app)
      .patch(`/api/v1/ugc/reviews/${id}`)
      .set(author)
      .send({ text: 'Slow, beautiful, long.' })
      .expect(200);
    expect(edited.body).toMatchObject({ id, text: 'Slow, beautiful, long.', authorRating: 8 });

    expectProblem(await request(h.app).delete(`/api/v1/ugc/reviews/${id}`).set(stranger), 403);
    await request(h.app).delete(`/api/v1/ugc/reviews/${id}`).set(author).expect(204);
    expectProblem(await request(h.app).get(`/api/v1/ugc/reviews/${id}`).set(author), 404);
    // Once deleted, the author may write a new one.
    await request(h.app)
      .post(`/api/v1/ugc/films/${filmId}/reviews`)
      .set(author)
      .send({ text: 'Second thoughts.' })
      .expect(201);
  });

  it('lets admins and super users remove any review', async () => {
    for (const role of ['admin', 'super_user']) {
      const created = await request(h.app)
        .post(`/api/v1/ugc/films/${newFilmId()}/reviews`)
        .set(await bearer())
        .send({ text: 'spam spam spam' })
        .expect(201);
      await request(h.app)
        .delete(`/api/v1/ugc/reviews/${created.body.id}`)
        .set(await bearer(randomUUID(), [role]))
        .expect(204);
      expectProblem(
        await request(h.app)
          .get(`/api/v1/ugc/reviews/${created.body.id}`)
          .set(await bearer()),
        404,
      );
    }
  });

  it('counts likes and dislikes once per user; votes change and are withdrawn', async () => {
    const filmId = newFilmId();
    const author = await bearer();
    const { id } = (
      await request(h.app)
        .post(`/api/v1/ugc/films/${filmId}/reviews`)
        .set(author)
        .send({ text: 'Vote on me' })
        .expect(201)
    ).body as { id: string };
    const voter = await bearer();
    const vote = (auth: Record<string, string>, value: string) =>
      request(h.app).put(`/api/v1/ugc/reviews/${id}/vote`).set(auth).send({ value });

    expect((await vote(voter, 'like')).body).toMatchObject({ likes: 1, dislikes: 0 });
    expect((await vote(voter, 'like')).body).toMatchObject({ likes: 1, dislikes: 0 });
    expect((await request(h.app).get(`/api/v1/ugc/reviews/${id}/vote`).set(voter)).body).toEqual({
      value: 'like',
    });
    expect((await vote(voter, 'dislike')).body).toMatchObject({ likes: 0, dislikes: 1 });
    expect((await vote(await bearer(), 'like')).body).toMatchObject({ likes: 1, dislikes: 1 });
    expect(
      (await request(h.app).delete(`/api/v1/ugc/reviews/${id}/vote`).set(voter)).body,
    ).toMatchObject({ likes: 1, dislikes: 0 });
    expectProblem(await request(h.app).delete(`/api/v1/ugc/reviews/${id}/vote`).set(voter), 404);
    expectProblem(await vote(author, 'like'), 403);
    expectProblem(
      await request(h.app)
        .put(`/api/v1/ugc/reviews/${'0'.repeat(24)}/vote`)
        .set(voter)
        .send({ value: 'like' }),
      404,
    );
  });

  it('keeps like counters exact under concurrent votes from two replicas', async () => {
    const { id } = (
      await request(h.app)
        .post(`/api/v1/ugc/films/${newFilmId()}/reviews`)
        .set(await bearer())
        .send({ text: 'contested' })
        .expect(201)
    ).body as { id: string };
    const voters = await Promise.all(Array.from({ length: 15 }, () => bearer()));
    const calls = voters.flatMap((auth, u) =>
      ['like', 'dislike', u % 3 ? 'like' : 'dislike'].map((value, i) =>
        request((u + i) % 2 ? h.app : h.replica)
          .put(`/api/v1/ugc/reviews/${id}/vote`)
          .set(auth)
          .send({ value }),
      ),
    );
    const answers = await Promise.all(calls);
    expect(answers.filter((r) => r.status !== 200)).toEqual([]);
    const votes = await collections(h.db)
      .reviewVotes.find({ reviewId: new ObjectId(id) })
      .toArray();
    expect(votes).toHaveLength(15);
    const review = (await request(h.app).get(`/api/v1/ugc/reviews/${id}`).set(voters[0]!)).body;
    expect({ likes: review.likes, dislikes: review.dislikes }).toEqual({
      likes: votes.filter((v) => v.value === 'like').length,
      dislikes: votes.filter((v) => v.value === 'dislike').length,
    });
  });

  it('lists a film’s reviews newest first and most liked first, page by page', async () => {
    const filmId = newFilmId();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await request(h.app)
        .post(`/api/v1/ugc/films/${filmId}/reviews`)
        .set(await bearer())
        .send({ text: `review ${i}` })
        .expect(201);
      ids.push(res.body.id);
    }
    // likes: review 1 gets 3, review 3 gets 2, review 0 gets 1.
    for (const [index, likes] of [
      [1, 3],
      [3, 2],
      [0, 1],
    ] as const) {
      for (let v = 0; v < likes; v++) {
        await request(h.app)
          .put(`/api/v1/ugc/reviews/${ids[index]}/vote`)
          .set(await bearer())
          .send({ value: 'like' })
          .expect(200);
      }
    }
    const walk = async (sort: string) => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const res = await request(h.app)
          .get(`/api/v1/ugc/films/${filmId}/reviews`)
          .query({ sort, limit: 2, ...(cursor ? { cursor } : {}) })
          .set(await bearer())
          .expect(200);
        seen.push(...res.body.items.map((r: { id: string }) => r.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      return seen;
    };
    expect(await walk('newest')).toEqual([...ids].reverse());
    const liked = await walk('likes');
    expect(liked.slice(0, 3)).toEqual([ids[1], ids[3], ids[0]]);
    expect(new Set(liked)).toEqual(new Set(ids));

    // A cursor of one order is refused by the other.
    const page = await request(h.app)
      .get(`/api/v1/ugc/films/${filmId}/reviews?sort=likes&limit=2`)
      .set(await bearer());
    expectProblem(
      await request(h.app)
        .get(`/api/v1/ugc/films/${filmId}/reviews`)
        .query({ sort: 'newest', cursor: page.body.nextCursor })
        .set(await bearer()),
      400,
    );
  });
});
