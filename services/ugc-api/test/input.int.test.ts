/**
 * Hostile and malformed input: operator injection in every field, oversize text and bodies,
 * malformed ids and cursors. Every answer is a 4xx problem+json, never a 500, and nothing is
 * stored.
 */
import request from 'supertest';
import { collections } from '../src/adapters/mongo';
import { expectProblem, newFilmId, startHarness, type Harness } from './helpers';

describe('ugc-api bad input (MongoDB-compatible server)', () => {
  let h: Harness;
  let auth: Record<string, string>;
  const filmId = newFilmId();
  let reviewId: string;

  beforeAll(async () => {
    h = await startHarness('input');
    auth = { Authorization: `Bearer ${await h.token()}` };
    const other = { Authorization: `Bearer ${await h.token()}` };
    reviewId = (
      await request(h.app)
        .post(`/api/v1/ugc/films/${filmId}/reviews`)
        .set(other)
        .send({ text: 'target' })
        .expect(201)
    ).body.id;
  });
  afterAll(() => h?.close());

  const injections: unknown[] = [{ $gt: '' }, { $ne: null }, { $in: ['a'] }, ['x'], null, true];

  it.each([
    ['POST', '/api/v1/ugc/bookmarks', (v: unknown) => ({ filmId: v })],
    ['PUT', `/api/v1/ugc/ratings/${filmId}`, (v: unknown) => ({ score: v })],
    ['POST', `/api/v1/ugc/films/${filmId}/reviews`, (v: unknown) => ({ text: v })],
    ['PATCH', '/api/v1/ugc/reviews/REVIEW', (v: unknown) => ({ text: v })],
    ['PUT', '/api/v1/ugc/reviews/REVIEW/vote', (v: unknown) => ({ value: v })],
  ])('%s %s refuses operator objects and wrong types with 422', async (method, path, body) => {
    for (const value of injections) {
      const agent = request(h.app);
      const call = agent[method.toLowerCase() as 'post'].bind(agent);
      const res = await call((path as string).replace('REVIEW', reviewId))
        .set(auth)
        .send(body(value) as object);
      expectProblem(res, 422);
    }
  });

  it('refuses extra fields, including operator keys, with 422', async () => {
    expectProblem(
      await request(h.app)
        .put(`/api/v1/ugc/ratings/${filmId}`)
        .set(auth)
        .send({ score: 5, $set: { score: 10 } }),
      422,
    );
    expectProblem(
      await request(h.app)
        .post('/api/v1/ugc/bookmarks')
        .set(auth)
        .send({ filmId, userId: 'someone-else' }),
      422,
    );
  });

  it('refuses operator objects and bad values in the query string', async () => {
    for (const query of [
      'cursor[$gt]=',
      'limit[$gt]=0',
      'limit=0',
      'limit=101',
      'limit=abc',
      'cursor=',
    ]) {
      expectProblem(await request(h.app).get(`/api/v1/ugc/bookmarks?${query}`).set(auth), 422);
    }
    expectProblem(
      await request(h.app).get(`/api/v1/ugc/films/${filmId}/reviews?sort[$ne]=x`).set(auth),
      422,
    );
    expectProblem(
      await request(h.app).get(`/api/v1/ugc/films/${filmId}/reviews?sort=oldest`).set(auth),
      422,
    );
  });

  it('refuses out-of-range scores, oversize and blank text, oversize bodies', async () => {
    for (const score of [-1, 11, 7.5, '7'])
      expectProblem(
        await request(h.app).put(`/api/v1/ugc/ratings/${filmId}`).set(auth).send({ score }),
        422,
      );
    for (const text of ['', '   ', 'x'.repeat(5001)])
      expectProblem(
        await request(h.app).post(`/api/v1/ugc/films/${filmId}/reviews`).set(auth).send({ text }),
        422,
      );
    expectProblem(
      await request(h.app)
        .post(`/api/v1/ugc/films/${filmId}/reviews`)
        .set(auth)
        .send({ text: 'y'.repeat(200_000) }),
      413,
    );
    expectProblem(
      await request(h.app)
        .post('/api/v1/ugc/bookmarks')
        .set(auth)
        .set('content-type', 'application/json')
        .send('{"filmId": '),
      400,
    );
  });

  it('refuses malformed film and review ids', async () => {
    for (const path of [
      '/api/v1/ugc/bookmarks/not-a-uuid',
      '/api/v1/ugc/ratings/%7B%22%24gt%22%3A%22%22%7D',
      '/api/v1/ugc/films/123/rating',
      '/api/v1/ugc/reviews/xyz',
      `/api/v1/ugc/reviews/${'g'.repeat(24)}`,
      `/api/v1/ugc/reviews/${reviewId}0`,
    ]) {
      expectProblem(await request(h.app).get(path).set(auth), 422);
    }
  });

  it('refuses malformed and forged cursors with 400', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const cursor of [
      'not*base64',
      Buffer.from('not json').toString('base64url'),
      b64({ $gt: '' }),
      b64(['bookmarks', { $gt: 0 }, '0'.repeat(24)]),
      b64(['bookmarks', 1, { $ne: null }]),
      b64(['bookmarks', -5, '0'.repeat(24)]),
      b64(['ratings', 1, '0'.repeat(24)]),
      b64(['bookmarks', 1, 'zz']),
    ]) {
      expectProblem(
        await request(h.app).get('/api/v1/ugc/bookmarks').query({ cursor }).set(auth),
        400,
      );
    }
  });

  it('stored nothing from the refused requests', async () => {
    const c = collections(h.db);
    expect(await c.bookmarks.countDocuments()).toBe(0);
    expect(await c.ratings.countDocuments()).toBe(0);
    expect(await c.reviews.countDocuments()).toBe(1);
    expect(await c.reviewVotes.countDocuments()).toBe(0);
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const spec = await request(h.app).get('/openapi.json').expect(200);
    expect(Object.keys(spec.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/ugc/bookmarks',
        '/api/v1/ugc/bookmarks/{filmId}',
        '/api/v1/ugc/ratings/{filmId}',
        '/api/v1/ugc/films/{filmId}/rating',
        '/api/v1/ugc/films/{filmId}/reviews',
        '/api/v1/ugc/reviews/{reviewId}/vote',
      ]),
    );
    expect(spec.body.paths['/api/v1/ugc/bookmarks'].post.responses['409']).toBeDefined();
    const docs = await request(h.app).get('/docs/').expect(200);
    expect(docs.text).toContain('swagger-ui');
  });
});
