/**
 * The admin panel over HTTP: login through the (stand-in) auth service's login API, role gate,
 * cookies, CSRF, and the editing of films, genres, persons and links against real PostgreSQL.
 */
import type { Express } from 'express';
import request from 'supertest';
import type { PgCatalogRepository } from '../src/adapters/catalog.repository';
import {
  createTestDatabase,
  startApp,
  startFakeAuth,
  type FakeAuth,
  type TestDatabase,
} from './helpers';

let db: TestDatabase;
let auth: FakeAuth;
let app: Express;
let catalog: PgCatalogRepository;

beforeAll(async () => {
  db = await createTestDatabase('catalog_admin_ui');
  auth = await startFakeAuth({
    'admin@test': { password: 'admin-pass', roles: ['admin'] },
    'root@test': { password: 'root-pass', roles: ['super_user'] },
    'viewer@test': { password: 'viewer-pass', roles: ['public_user'] },
  });
  ({ app, catalog } = await startApp(db, auth));
});

afterAll(async () => {
  await auth?.close();
  await db?.drop();
});

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

async function loggedIn(email = 'admin@test', password = 'admin-pass') {
  const agent = request.agent(app);
  const page = await agent.get('/admin/login').expect(200);
  const csrf = csrfOf(page.text);
  const res = await agent
    .post('/admin/login')
    .type('form')
    .send({ _csrf: csrf, email, password, next: '/admin/genres' });
  return { agent, csrf, res };
}

describe('login', () => {
  it('sends strangers to the login page', async () => {
    const res = await request(app).get('/admin/films?q=x').expect(303);
    expect(res.headers.location).toBe('/admin/login?next=%2Fadmin%2Ffilms%3Fq%3Dx');
  });

  it('logs an admin in with httpOnly SameSite=Strict cookies and follows a local next', async () => {
    const { res } = await loggedIn();
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/admin/genres');
    const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    const access = cookies.find((c) => c.startsWith('ca_access='))!;
    expect(access).toMatch(/HttpOnly/);
    expect(access).toMatch(/SameSite=Strict/);
    expect(access).toMatch(/Path=\/admin/);
    expect(cookies.some((c) => c.startsWith('ca_refresh='))).toBe(true);
  });

  it('lets super_user in too', async () => {
    const { agent, res } = await loggedIn('root@test', 'root-pass');
    expect(res.status).toBe(303);
    await agent.get('/admin/films').expect(200);
  });

  it('refuses wrong passwords and accounts without an admin role', async () => {
    const wrong = await loggedIn('admin@test', 'nope');
    expect(wrong.res.status).toBe(401);
    expect(wrong.res.text).toContain('wrong e-mail or password');
    const viewer = await loggedIn('viewer@test', 'viewer-pass');
    expect(viewer.res.status).toBe(403);
    expect(viewer.res.headers['set-cookie'] ?? []).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^ca_access=[^;]/)]),
    );
    await viewer.agent.get('/admin/films').expect(303);
  });

  it('refuses a token with an admin role but a foreign signature, or a public_user token', async () => {
    const forged = await auth.sign(['admin'], { foreign: true });
    await request(app).get('/admin/films').set('Cookie', `ca_access=${forged}`).expect(303);
    const viewer = await auth.sign(['public_user']);
    const res = await request(app).get('/admin/films').set('Cookie', `ca_access=${viewer}`);
    expect(res.status).toBe(403);
  });

  it('does not follow an off-site next', async () => {
    const agent = request.agent(app);
    const csrf = csrfOf((await agent.get('/admin/login')).text);
    const res = await agent.post('/admin/login').type('form').send({
      _csrf: csrf,
      email: 'admin@test',
      password: 'admin-pass',
      next: '//evil.example/admin',
    });
    expect(res.headers.location).toBe('/admin/films');
  });

  it('refreshes an expired access token with the refresh cookie', async () => {
    const { agent } = await loggedIn();
    const before = auth.refreshes;
    const expired = await auth.sign(['admin'], { expiresIn: Math.floor(Date.now() / 1000) - 120 });
    // Replace the access cookie with an expired one; the refresh cookie stays.
    agent.jar.setCookie(`ca_access=${expired}; Path=/admin`, '127.0.0.1', '/admin');
    const res = await agent.get('/admin/films');
    expect(res.status).toBe(200);
    expect(auth.refreshes).toBe(before + 1);
  });

  it('is unavailable, not broken, when auth cannot be reached', async () => {
    const { createAuthClient } = await import('@cinema/auth');
    await expect(createAuthClient('http://127.0.0.1:1').login('a@b', 'c')).rejects.toMatchObject({
      status: 503,
    });
  });
});

describe('CSRF', () => {
  it('refuses form posts without the token or with another browser token', async () => {
    const { agent } = await loggedIn();
    await agent.post('/admin/films').type('form').send({ title: 'x', type: 'movie' }).expect(403);
    await agent
      .post('/admin/films')
      .type('form')
      .send({ _csrf: 'a'.repeat(43), title: 'x', type: 'movie' })
      .expect(403);
    const login = await request(app)
      .post('/admin/login')
      .type('form')
      .send({ email: 'admin@test', password: 'admin-pass' });
    expect(login.status).toBe(403);
    expect((await catalog.listFilms({ page: 1, pageSize: 10, q: 'x' })).total).toBe(0);
  });
});

describe('editing', () => {
  it('creates, attaches, edits, searches and deletes films, genres and persons', async () => {
    const { agent, csrf } = await loggedIn();
    const post = (url: string, form: Record<string, string>) =>
      agent
        .post(url)
        .type('form')
        .send({ _csrf: csrf, ...form });

    // Bad input re-renders the form with the reasons.
    const bad = await post('/admin/films', { title: '', rating: '11', type: 'cartoon' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('is required');
    expect(bad.text).toContain('must be a number from 0 to 10');

    const genre = await post('/admin/genres', { name: 'Space Opera', description: 'Stars' });
    expect(genre.status).toBe(303);
    const genreId = /\/admin\/genres\/([0-9a-f-]{36})/.exec(genre.headers.location)![1]!;
    expect((await post('/admin/genres', { name: 'Space Opera' })).status).toBe(409);

    const person = await post('/admin/persons', {
      fullName: 'Ridley Test',
      birthDate: '1937-11-30',
    });
    expect(person.status).toBe(303);
    const personId = /\/admin\/persons\/([0-9a-f-]{36})/.exec(person.headers.location)![1]!;

    const film = await post('/admin/films', {
      title: 'Alien <script>alert(1)</script>',
      description: 'In space no one can hear you scream.',
      creationDate: '1979-05-25',
      rating: '8.5',
      type: 'movie',
    });
    expect(film.status).toBe(303);
    const filmId = /\/admin\/films\/([0-9a-f-]{36})/.exec(film.headers.location)![1]!;
    const page = await agent.get(`/admin/films/${filmId}?notice=created`).expect(200);
    expect(page.text).toContain('Alien &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.text).not.toContain('<script>alert(1)');

    expect((await post(`/admin/films/${filmId}/genres`, { genreId })).status).toBe(303);
    expect((await post(`/admin/films/${filmId}/genres`, { genreId })).status).toBe(409);
    expect((await post(`/admin/films/${filmId}/genres`, { genreId: 'nope' })).status).toBe(404);
    expect(
      (await post(`/admin/films/${filmId}/persons`, { person: 'ridley test', role: 'director' }))
        .status,
    ).toBe(303);
    expect(
      (await post(`/admin/films/${filmId}/persons`, { person: personId, role: 'writer' })).status,
    ).toBe(303);
    const unknown = await post(`/admin/films/${filmId}/persons`, {
      person: 'Nobody Known',
      role: 'actor',
    });
    expect(unknown.status).toBe(422);
    expect(unknown.text).toContain('no person named');
    expect(
      (await post(`/admin/films/${filmId}/persons`, { person: personId, role: 'producer' })).status,
    ).toBe(422);

    let detail = await catalog.getFilm(filmId);
    expect(detail.genres.map((g) => g.name)).toEqual(['Space Opera']);
    expect(detail.persons.map((p) => `${p.role}:${p.fullName}`)).toEqual([
      'director:Ridley Test',
      'writer:Ridley Test',
    ]);
    const movie = await request(app).get(`/api/v1/movies/${filmId}`).expect(200);
    expect(movie.body.directors).toEqual([{ id: personId, full_name: 'Ridley Test' }]);
    expect(movie.body.genres).toEqual([{ id: genreId, name: 'Space Opera' }]);

    // Edit: the change lands and moves `modified`.
    const modifiedBefore = detail.modified;
    expect(
      (
        await post(`/admin/films/${filmId}`, {
          title: 'Alien',
          description: 'Edited',
          creationDate: '1979-05-25',
          rating: '8.4',
          type: 'movie',
        })
      ).status,
    ).toBe(303);
    detail = await catalog.getFilm(filmId);
    expect(detail).toMatchObject({ title: 'Alien', description: 'Edited', rating: 8.4 });
    expect(detail.modified > modifiedBefore).toBe(true);

    // Search.
    const found = await agent.get('/admin/films?q=alie').expect(200);
    expect(found.text).toContain(`/admin/films/${filmId}`);
    const none = await agent.get('/admin/films?q=%25%25zzz').expect(200);
    expect(none.text).toContain('No films found.');
    expect((await agent.get('/admin/persons?q=ridley')).text).toContain(personId);
    expect((await agent.get('/admin/genres?q=opera')).text).toContain(genreId);

    // Detach a person link, then delete the film: a tombstone is left for the ETL.
    const link = detail.persons.find((p) => p.role === 'writer')!;
    expect((await post(`/admin/films/${filmId}/persons/${link.linkId}/delete`, {})).status).toBe(
      303,
    );
    expect((await catalog.getFilm(filmId)).persons).toHaveLength(1);
    expect((await post(`/admin/films/${filmId}/genres/${genreId}/delete`, {})).status).toBe(303);
    expect((await post(`/admin/films/${filmId}/delete`, {})).status).toBe(303);
    await agent.get(`/admin/films/${filmId}`).expect(404);
    const tomb = await db.pool.query(`SELECT entity FROM content.tombstone WHERE id = $1`, [
      filmId,
    ]);
    expect(tomb.rows).toEqual([{ entity: 'film_work' }]);

    // Rename and delete a person and a genre.
    expect(
      (await post(`/admin/persons/${personId}`, { fullName: 'Ridley Scott', birthDate: '' }))
        .status,
    ).toBe(303);
    expect((await catalog.getPerson(personId)).fullName).toBe('Ridley Scott');
    expect((await post(`/admin/persons/${personId}/delete`, {})).status).toBe(303);
    expect((await post(`/admin/genres/${genreId}/delete`, {})).status).toBe(303);
    await agent.get(`/admin/genres/${genreId}`).expect(404);
  });

  it('answers malformed ids and unknown pages with 404 pages, never 500', async () => {
    const { agent, csrf } = await loggedIn();
    for (const url of ['/admin/films/not-a-uuid', '/admin/persons/123', '/admin/nothing']) {
      await agent.get(url).expect(404);
    }
    await agent.get(`/admin/films?page=${'9'.repeat(50)}&q=${'x'.repeat(10_000)}`).expect(200);
    const res = await agent
      .post('/admin/films/not-a-uuid/delete')
      .type('form')
      .send({ _csrf: csrf });
    expect(res.status).toBe(404);
  });
});

describe('repository lists', () => {
  it('pages, filters and orders films, genres and persons alike, and reports the total past the end', async () => {
    const tag = `zq${Date.now().toString(36)}`;
    const genres = [];
    const persons = [];
    for (const n of ['b', 'A', 'c']) {
      genres.push(await catalog.createGenre({ name: `${tag} ${n}`, description: null }));
      persons.push(await catalog.createPerson({ fullName: `${tag} ${n}`, birthDate: null }));
    }
    for (const list of [
      (page: number) => catalog.listGenres({ q: tag, page, pageSize: 2 }),
      (page: number) => catalog.listPersons({ q: tag, page, pageSize: 2 }),
    ]) {
      const first = await list(1);
      expect(first.total).toBe(3);
      expect(first.items.map((i) => ('name' in i ? i.name : i.fullName))).toEqual([
        `${tag} A`,
        `${tag} b`,
      ]);
      expect(first.items[0]).not.toHaveProperty('total');
      expect((await list(2)).items).toHaveLength(1);
      const beyond = await list(9);
      expect(beyond.items).toEqual([]);
      expect(beyond.total).toBe(3);
    }
    expect((await catalog.listFilms({ q: tag, page: 1, pageSize: 2 })).total).toBe(0);
    for (const id of genres) await catalog.deleteGenre(id);
    for (const id of persons) await catalog.deletePerson(id);
    await expect(catalog.deleteGenre(genres[0]!)).rejects.toThrow('genre not found');
    await expect(catalog.deletePerson(persons[0]!)).rejects.toThrow('person not found');
    await expect(catalog.updateGenre(genres[0]!, { name: 'x', description: null })).rejects.toThrow(
      'genre not found',
    );
  });
});
