/**
 * Issue 14's events across three services, each built by its own wiring on the stack's servers
 * (PostgreSQL, FerretDB, RabbitMQ, MailDev), talking only through RabbitMQ:
 *   - catalog-admin: a film given its release date -> film.published through its transactional
 *     outbox -> notifications announces it only to the users following one of its genres;
 *   - ugc-api: five users like a review -> review.liked through the votes' outbox ->
 *     notifications sends the author one digested in-app notice ("5 people liked your review"),
 *     pushed over SSE to the author's open stream, once the hour is over (on the fake clock);
 *   - both relays republish their messages (an outbox row / vote entry set pending again, as
 *     after a crash between the broker's confirm and the mark): nothing arrives twice.
 * Notifications' HTTP API (inbox, genre preferences, the SSE stream) is called through its
 * generated client (@cinema/clients). Own names: exchanges, queues, database and schema with a
 * random suffix, removed after.
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { createServiceClient, unwrap, type ServiceClient } from '@cinema/clients';
import { Lifecycle } from '@cinema/http';
import { createLogger } from '@cinema/logging';
import { suffix, waitFor } from '@cinema/testing';
import { readConfig as catalogConfig } from '../../services/catalog-admin/src/config';
import { wire as wireCatalog } from '../../services/catalog-admin/src/wiring';
import { createTestDatabase, type TestDatabase } from '../../services/catalog-admin/test/helpers';
import {
  deleteMailsTo,
  fakeClock,
  mailTo,
  mailsTo,
  sleep,
  startService,
  type TestService,
} from '../../services/notifications/test/helpers';
import { readConfig as ugcConfig } from '../../services/ugc-api/src/config';
import { wire as wireUgc } from '../../services/ugc-api/src/wiring';

const sfx = suffix();
const CATALOG = `catalog.events.e2e.${sfx}`;
const UGC = `ugc.events.e2e.${sfx}`;
const MONGO_DB = `ugc_e2e_${sfx.replace(/[^A-Za-z0-9_-]/g, '')}`.slice(0, 60);
const logger = createLogger({ service: 'notifications-e2e', level: 'silent' });
const time = fakeClock(new Date().toISOString());

let db: TestDatabase;
let notifications: TestService;
const catalogLife = new Lifecycle(logger, 10_000);
const ugcLife = new Lifecycle(logger, 10_000);
let catalog: Awaited<ReturnType<typeof wireCatalog>>;
let ugc: Awaited<ReturnType<typeof wireUgc>>;
const addresses: string[] = [];

beforeAll(async () => {
  notifications = await startService(
    { CATALOG_EVENTS_EXCHANGE: CATALOG, UGC_EVENTS_EXCHANGE: UGC, REVIEW_LIKES_FLUSH_MS: '150' },
    { clock: time },
  );
  client = createServiceClient('notifications', { baseUrl: notifications.url });
  db = await createTestDatabase('notif_e2e');
  const common = {
    AMQP_URL: process.env.AMQP_URL!,
    OUTBOX_POLL_MS: '200',
    LOG_LEVEL: 'silent',
  };
  catalog = await wireCatalog({
    config: catalogConfig({
      ...common,
      DATABASE_URL: db.url,
      AUTH_URL: 'http://127.0.0.1:9',
      CATALOG_EVENTS_EXCHANGE: CATALOG,
    }),
    logger,
    lifecycle: catalogLife,
  });
  ugc = await wireUgc({
    config: ugcConfig({
      ...common,
      MONGODB_URL: process.env.MONGODB_URL!,
      MONGODB_DB: MONGO_DB,
      AUTH_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
      UGC_EVENTS_EXCHANGE: UGC,
    }),
    logger,
    lifecycle: ugcLife,
  });
}, 60_000);

afterAll(async () => {
  await catalogLife.shutdown('test done');
  await ugcLife.shutdown('test done');
  await notifications?.close();
  for (const x of [CATALOG, UGC])
    await notifications?.channel.deleteExchange(x).catch(() => undefined);
  await db?.drop();
  const mongo = await new MongoClient(process.env.MONGODB_URL!).connect();
  await mongo
    .db(MONGO_DB)
    .dropDatabase()
    .catch(() => undefined);
  await mongo.close();
  await deleteMailsTo(...addresses);
});

async function user(): Promise<{ id: string; email: string; token: string }> {
  const id = randomUUID();
  const email = `e2e-${id.slice(0, 8)}@example.test`;
  addresses.push(email);
  await notifications.deps.recipients.apply(
    { userId: id, email, emailVerified: true, locale: 'en' },
    new Date(),
  );
  return { id, email, token: await notifications.token(id) };
}

let client: ServiceClient<'notifications'>;
const as = (u: { token: string }) => ({ headers: { authorization: `Bearer ${u.token}` } });
const inboxOf = async (u: { token: string }) =>
  (await unwrap(client.GET('/api/v1/notifications/inbox', as(u)))).items;

const film = (title: string, creationDate = '') => ({
  title,
  description: '',
  creationDate,
  rating: '',
  type: 'movie',
  certificate: '',
  filePath: '',
});

test('a film published in catalog-admin is announced only to the followers of its genres, once', async () => {
  const genreName = `Noir ${sfx}`;
  const genreId = await catalog.catalog.createGenre({ name: genreName, description: '' });
  const follower = await user();
  const other = await user();
  const follow = async (u: { token: string }, genres: string[]) =>
    (await client.PUT('/api/v1/notifications/preferences/genres', { ...as(u), body: { genres } }))
      .response;
  expect((await follow(follower, [genreName])).status).toBe(200);
  expect((await follow(other, [`Comedy ${sfx}`])).status).toBe(200);

  // Created without a date, given its genre, then its release date: announced then.
  const filmId = await catalog.catalog.createFilm(film(`Night ${sfx}`));
  await catalog.catalog.attachGenre(filmId, genreId);
  await catalog.catalog.updateFilm(filmId, film(`Night ${sfx}`, '2026-12-31'));

  const mail = await mailTo(follower.email, new RegExp(`New on Cinema: Night ${sfx}`), 20_000);
  expect(mail.text).toContain(genreName);
  await waitFor(async () => (await inboxOf(follower)).length === 1);

  // The relay publishes the same row again (as after a crash before marking it): nothing twice.
  const handled = notifications.deps.consumers.catalogEvents.stats.handled;
  await db.pool.query(`UPDATE content.outbox SET published_at = NULL`);
  await catalog.catalog.updateFilm(filmId, film(`Night ${sfx}`, '2027-01-01')); // no new event
  await waitFor(
    async () => notifications.deps.consumers.catalogEvents.stats.handled > handled,
    10_000,
  );
  await sleep(800);
  expect(await mailsTo(follower.email)).toHaveLength(1);
  expect(await inboxOf(follower)).toHaveLength(1);
  expect(await mailsTo(other.email)).toHaveLength(0);
  expect(await inboxOf(other)).toHaveLength(0);
}, 60_000);

test('likes in ugc-api reach the author as one digested notice, pushed over SSE, once', async () => {
  const author = await user();
  const actor = (id: string) => ({ id, roles: ['public_user'] });
  const review = await ugc.reviews.create(actor(author.id), randomUUID(), 'Worth it.');

  const controller = new AbortController();
  // An event stream: no timeout (it stays open), no retry.
  const streams = createServiceClient('notifications', {
    baseUrl: notifications.url,
    timeoutMs: 0,
    retries: 0,
  });
  const { data: stream, response: res } = await streams.GET('/api/v1/notifications/stream', {
    ...as(author),
    parseAs: 'stream',
    signal: controller.signal,
  });
  expect(res.status).toBe(200);
  await waitFor(async () => notifications.deps.streams.size >= 1);
  const chunks: string[] = [];
  const reading = (async () => {
    const reader = stream!.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        chunks.push(decoder.decode(value, { stream: true }));
      }
    } catch {
      /* aborted */
    }
  })();

  for (let i = 0; i < 5; i++) await ugc.reviews.vote(actor(randomUUID()), review.id, 'like');
  await waitFor(async () => notifications.deps.consumers.ugcEvents.stats.handled >= 5, 15_000);
  // Every vote's entry relayed again: counted nowhere.
  const mongo = await new MongoClient(process.env.MONGODB_URL!).connect();
  await mongo
    .db(MONGO_DB)
    .collection('review_votes')
    .updateMany({}, { $set: { outboxPending: true } });
  await mongo.close();
  await waitFor(async () => notifications.deps.consumers.ugcEvents.stats.handled >= 10, 15_000);
  expect(await inboxOf(author)).toHaveLength(0); // the hour is not over

  time.set(new Date(time.now.getTime() + 3_600_000 + 1000).toISOString());
  await waitFor(async () => (await inboxOf(author)).length === 1, 10_000);
  expect((await inboxOf(author))[0]).toMatchObject({
    category: 'review_activity',
    title: '5 people liked your review',
  });
  await waitFor(async () => chunks.join('').includes('5 people liked your review'), 5_000);
  time.set(new Date(time.now.getTime() + 3_600_000 + 1000).toISOString());
  await sleep(500);
  controller.abort();
  await reading;
  expect(chunks.join('').match(/event: notification/g)).toHaveLength(1);
  expect(await inboxOf(author)).toHaveLength(1);
}, 60_000);
