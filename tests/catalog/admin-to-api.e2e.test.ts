/**
 * Issue 5 across the three catalog services: an editor works in the real catalog-admin app (login
 * form, CSRF, the edit/rename/delete forms a browser posts), catalog-etl's Runner runs
 * continuously in-process, and catalog-api answers search and detail (with its Redis cache warm
 * before the edits). Each change must be visible through catalog-api within seconds; the file
 * prints how long each took.
 *
 * One stand-in auth service serves both sides, as the real one would: the admin logs in through
 * its login API (catalog-admin's own test helper, which implements the documented contract) and
 * both services verify tokens against its JWKS.
 *
 * Own names: a database `catalog_e2e_<random>`, index prefix, cache keys, generation key and
 * page-view topics with the same random suffix; all removed in afterAll.
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import request from 'supertest';
import { startApp, startFakeAuth, type FakeAuth } from '../../services/catalog-admin/test/helpers';
import { Lifecycle } from '@cinema/http';
import { PAGE_VIEW_TOPICS, topicNamesOf } from '@cinema/kafka';
import { deleteTestTopics, suffix } from '@cinema/testing';
import { logger, makeApi } from '../../services/catalog-api/test/support';
import { readConfig as etlConfig } from '../../services/catalog-etl/src/config';
import { wire as wireEtl } from '../../services/catalog-etl/src/wiring';
import {
  createTestDatabase,
  seedCatalog,
  type Catalog,
  type TestDatabase,
} from '../../services/catalog-etl/test/helpers';

const sfx = suffix();
const prefix = `e2e_${sfx}_`;
const topicPrefix = `test.${sfx}.e2e.`;
const generationKey = `catalog-e2e:${sfx}:generation`;
const cachePrefix = `catalog-e2e:${sfx}:`;
/** What "within seconds" means here: the ETL polls every 200 ms and waits 300 ms to settle. */
const DEADLINE_MS = 5_000;

const es = new Client({ node: process.env.ELASTICSEARCH_URL! });
const redis = new Redis(process.env.REDIS_URL!);
let db: TestDatabase;
let catalog: Catalog;
let auth: FakeAuth;
let admin: Awaited<ReturnType<typeof startApp>>;
let api: ReturnType<typeof makeApi>;
// catalog-etl built by its own wiring, as its main.ts does; the lifecycle stops it (drain first).
const etlLife = new Lifecycle(logger);
let viewerToken: string;

beforeAll(async () => {
  db = await createTestDatabase('catalog_e2e');
  catalog = await seedCatalog(db.pool, {
    films: 40,
    genres: 3,
    persons: 10,
    modified: new Date(Date.now() - 60_000).toISOString(),
  });
  auth = await startFakeAuth({ 'editor@test': { password: 'editor-pass', roles: ['admin'] } });
  admin = await startApp({ url: db.url, pool: db.pool, drop: () => Promise.resolve() }, auth);
  const etl = await wireEtl({
    config: etlConfig({
      DATABASE_URL: db.url,
      ELASTICSEARCH_URL: process.env.ELASTICSEARCH_URL,
      REDIS_URL: process.env.REDIS_URL,
      ES_INDEX_PREFIX: prefix,
      CACHE_GENERATION_KEY: generationKey,
      ETL_BATCH_SIZE: '100',
      ETL_POLL_INTERVAL_MS: '200',
      ETL_SETTLE_MS: '300',
      ETL_RETRY_MIN_MS: '50',
      ETL_RETRY_MAX_MS: '500',
    }),
    logger,
    lifecycle: etlLife,
  });
  await etl.runner.once();
  etl.runner.start();
  api = makeApi({
    prefix,
    jwksUrl: `${auth.url}/.well-known/jwks.json`,
    topicPrefix,
    generationKey,
    cachePrefix,
  });
  viewerToken = await auth.sign(['public_user'], { sub: randomUUID() });
}, 60_000);

afterAll(async () => {
  await etlLife.shutdown('test done');
  await api?.close();
  await auth?.close();
  // Topics go only after the API that writes to them is closed (a late send would retry its
  // metadata lookups past the end of the file).
  await deleteTestTopics(topicNamesOf(Object.values(PAGE_VIEW_TOPICS), topicPrefix));
  await es.indices.delete({
    index: ['films', 'genres', 'persons'].map((i) => `${prefix}${i}`),
    ignore_unavailable: true,
  });
  const keys = await redis.keys(`catalog-e2e:${sfx}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await es.close();
  await db?.drop();
});

const apiGet = (path: string) =>
  request(api.app).get(path).set('Authorization', `Bearer ${viewerToken}`);

/** Decodes the entities the admin's html template escapes. */
const unescape = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#x27;/g, "'")
    .replace(/&amp;/g, '&');

/** The fields of the form posting to `action`, as a browser would submit them unchanged. */
function formFields(page: string, action: string): Record<string, string> {
  const start = page.indexOf(`action="${action}"`);
  expect(start).toBeGreaterThan(-1);
  const form = page.slice(start, page.indexOf('</form>', start));
  const fields: Record<string, string> = {};
  for (const m of form.matchAll(/<input\b([^>]*)>/g)) {
    const name = /\bname="([^"]*)"/.exec(m[1]!)?.[1];
    if (name) fields[name] = unescape(/\bvalue="([^"]*)"/.exec(m[1]!)?.[1] ?? '');
  }
  for (const m of form.matchAll(/<textarea\b[^>]*\bname="([^"]*)"[^>]*>([\s\S]*?)<\/textarea/g)) {
    fields[m[1]!] = unescape(m[2]!);
  }
  for (const m of form.matchAll(/<select\b[^>]*\bname="([^"]*)"[^>]*>([\s\S]*?)<\/select/g)) {
    const selected = /<option value="([^"]*)"\s*selected/.exec(m[2]!)?.[1];
    if (selected !== undefined) fields[m[1]!] = unescape(selected);
  }
  return fields;
}

/** Logs in through the admin's login form, as the browser does; returns the cookie agent. */
async function editor() {
  const agent = request.agent(admin.app);
  const login = await agent.get('/admin/login').expect(200);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(login.text)![1]!;
  const res = await agent
    .post('/admin/login')
    .type('form')
    .send({ _csrf: csrf, email: 'editor@test', password: 'editor-pass', next: '/admin/films' });
  expect(res.status).toBe(303);
  expect(res.headers.location).toBe('/admin/films');
  return agent;
}

/** Polls until `check` holds; the milliseconds it took, or a failure naming what never came. */
async function visibleWithin(what: string, since: number, check: () => Promise<boolean>) {
  while (!(await check())) {
    if (Date.now() - since > DEADLINE_MS)
      throw new Error(`${what}: not visible after ${DEADLINE_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - since;
}

describe('catalog-admin -> catalog-etl -> catalog-api', () => {
  it('a title edit, a person rename and a film delete in the admin reach API search and detail within seconds', async () => {
    const film = catalog.films[7]!;
    const victim = catalog.films[8]!;
    // A person linked to some film other than the one to delete.
    const [linkedFilmId, links] = [...catalog.filmPersons].find(
      ([id, ps]) => id !== victim.id && id !== film.id && ps.length > 0,
    )!;
    const person = catalog.persons.find((p) => p.id === links[0]![0])!;

    // Warm catalog-api's cache with the old answers, so the new ones must displace them.
    const before = await apiGet(`/api/v1/films/${film.id}`).expect(200);
    expect(before.body.title).toBe(film.title);
    await apiGet(`/api/v1/films/${victim.id}`).expect(200);
    const linkedBefore = await apiGet(`/api/v1/films/${linkedFilmId}`).expect(200);
    const namesOf = (b: Record<string, Array<{ full_name: string }>>) =>
      [...b.actors!, ...b.directors!, ...b.writers!].map((p) => p.full_name);
    expect(namesOf(linkedBefore.body)).toContain(person.full_name);
    const hits = (await apiGet(`/api/v1/films/search?query=zanzibar%20nightfall`).expect(200)).body;
    expect(hits.items.map((f: { id: string }) => f.id)).not.toContain(film.id);

    const agent = await editor();
    const timings: Record<string, number> = {};

    // 1. Edit the film's title through its edit form (every other field as the form shows it).
    const filmPage = await agent.get(`/admin/films/${film.id}`).expect(200);
    const form = formFields(filmPage.text, `/admin/films/${film.id}`);
    expect(form.description).toBe(film.description);
    const edited = await agent
      .post(`/admin/films/${film.id}`)
      .type('form')
      .send({ ...form, title: 'Zanzibar Nightfall' });
    expect(edited.status).toBe(303);
    let t0 = Date.now();
    timings['title edit -> search'] = await visibleWithin('edited title', t0, async () => {
      const r = await apiGet(`/api/v1/films/search?query=zanzibar%20nightfal`);
      return r.status === 200 && r.body.items[0]?.id === film.id;
    });
    const detail = await apiGet(`/api/v1/films/${film.id}`).expect(200);
    expect(detail.body).toMatchObject({ id: film.id, title: 'Zanzibar Nightfall' });
    expect(detail.body.description).toBe(film.description);
    expect(detail.body.rating).toBeCloseTo(film.rating);

    // 2. Rename the person through the person form.
    const personPage = await agent.get(`/admin/persons/${person.id}`).expect(200);
    const personForm = formFields(personPage.text, `/admin/persons/${person.id}`);
    expect(personForm.fullName).toBe(person.full_name);
    const renamed = await agent
      .post(`/admin/persons/${person.id}`)
      .type('form')
      .send({ ...personForm, fullName: 'Quentin Quartermaine' });
    expect(renamed.status).toBe(303);
    t0 = Date.now();
    timings['person rename -> person search'] = await visibleWithin(
      'renamed person',
      t0,
      async () => {
        const r = await apiGet(`/api/v1/persons/search?query=quartermain`);
        return r.status === 200 && r.body.items[0]?.id === person.id;
      },
    );
    // The rename reaches the films that reference the person (detail and search by name).
    timings['person rename -> film detail'] = await visibleWithin('rename in film', t0, async () =>
      namesOf((await apiGet(`/api/v1/films/${linkedFilmId}`)).body).includes(
        'Quentin Quartermaine',
      ),
    );
    const byName = await apiGet(`/api/v1/films/search?page_size=100&query=quartermaine`);
    expect(byName.body.items.map((f: { id: string }) => f.id)).toContain(linkedFilmId);
    expect(namesOf((await apiGet(`/api/v1/films/${linkedFilmId}`)).body)).not.toContain(
      person.full_name,
    );

    // 3. Delete a film with the delete button's form.
    const victimPage = await agent.get(`/admin/films/${victim.id}`).expect(200);
    const del = formFields(victimPage.text, `/admin/films/${victim.id}/delete`);
    expect(del._csrf).toBeTruthy();
    const deleted = await agent.post(`/admin/films/${victim.id}/delete`).type('form').send(del);
    expect(deleted.status).toBe(303);
    await agent.get(`/admin/films/${victim.id}`).expect(404);
    t0 = Date.now();
    timings['film delete -> detail 404'] = await visibleWithin('deleted film', t0, async () => {
      return (await apiGet(`/api/v1/films/${victim.id}`)).status === 404;
    });
    const search = await apiGet(
      `/api/v1/films/search?page_size=100&query=${encodeURIComponent(victim.title)}`,
    ).expect(200);
    expect(search.body.items.map((f: { id: string }) => f.id)).not.toContain(victim.id);
    const list = await apiGet(`/api/v1/films?page_size=100`).expect(200);
    expect(list.body.total).toBe(catalog.films.length - 1);

    // Printed so a run shows the figures (the poll interval is 200 ms, the settle time 300 ms).
    console.log(
      `admin -> api propagation (ms): ${Object.entries(timings)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    for (const ms of Object.values(timings)) expect(ms).toBeLessThan(DEADLINE_MS);
  });
});
