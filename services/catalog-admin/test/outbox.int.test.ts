/**
 * film.published through the transactional outbox on the stack's PostgreSQL and RabbitMQ: the
 * event row commits with the film write (and not without it), the publisher relays it with
 * message_id and publisher confirms, and a film is announced once: created with a release date,
 * or first given one; later edits, or a date removed and set again, announce nothing.
 */
import * as amqp from 'amqplib';
import { createLogger } from '@cinema/logging';
import { suffix, waitFor } from '@cinema/testing';
import { PgCatalogRepository } from '../src/adapters/catalog.repository';
import { OutboxPublisher } from '../src/adapters/outbox.publisher';
import { CatalogService } from '../src/domain/catalog.service';
import { migrateContent } from '../src/schema';
import { createTestDatabase, type TestDatabase } from './helpers';

const AMQP_URL = process.env.AMQP_URL!;

let db: TestDatabase;
let publisher: OutboxPublisher;
let catalog: CatalogService;
let connection: amqp.ChannelModel;
let channel: amqp.Channel;
let queue: string;
const exchange = `catalog.events.test.${suffix()}`;
const received: Array<{
  messageId: string;
  routingKey: string;
  appId?: string;
  body: Record<string, unknown>;
}> = [];

const film = (title: string, creationDate = '') => ({
  title,
  description: '',
  creationDate,
  rating: '',
  type: 'movie',
  certificate: '',
  filePath: '',
});

beforeAll(async () => {
  db = await createTestDatabase('catalog_outbox');
  await migrateContent(db.pool);
  publisher = new OutboxPublisher({
    pool: db.pool,
    amqpUrl: AMQP_URL,
    exchange,
    logger: createLogger({ service: 'catalog-admin-test', level: 'silent' }),
    pollMs: 100,
    appId: 'catalog-admin',
  });
  catalog = new CatalogService(new PgCatalogRepository(db.pool, { onEvents: publisher.notify }));
  connection = await amqp.connect(AMQP_URL);
  channel = await connection.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  queue = (await channel.assertQueue('', { exclusive: true })).queue;
  await channel.bindQueue(queue, exchange, 'film.#');
  await channel.consume(
    queue,
    (msg) => {
      if (!msg) return;
      received.push({
        messageId: msg.properties.messageId,
        routingKey: msg.fields.routingKey,
        appId: msg.properties.appId,
        body: JSON.parse(msg.content.toString()),
      });
    },
    { noAck: true },
  );
  publisher.start();
});

afterAll(async () => {
  await publisher.stop();
  await channel.deleteExchange(exchange).catch(() => undefined);
  await connection.close();
  await db.drop();
});

const eventsFor = (filmId: string) => received.filter((m) => m.body.film_id === filmId);
const settle = () => new Promise((r) => setTimeout(r, 600));

it('publishes film.published for a film created with a release date, with its genres', async () => {
  const drama = await catalog.createGenre({ name: `Drama ${suffix()}`, description: '' });
  const id = await catalog.createFilm(film('Dated', '2026-05-01'));
  await waitFor(async () => eventsFor(id).length === 1, 10_000);
  const [m] = eventsFor(id);
  expect(m!.routingKey).toBe('film.published');
  expect(m!.appId).toBe('catalog-admin');
  expect(m!.messageId).toBe(m!.body.message_id);
  expect(m!.body).toMatchObject({
    event: 'film.published',
    film_id: id,
    title: 'Dated',
    release_date: '2026-05-01',
    genres: [],
  });
  expect(m!.body.occurred_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(drama).toBeTruthy();
});

it('publishes once when a film is first given a date, with the genres it has then', async () => {
  const genreName = `Noir ${suffix()}`;
  const genreId = await catalog.createGenre({ name: genreName, description: '' });
  const id = await catalog.createFilm(film('Undated'));
  await catalog.attachGenre(id, genreId);
  await settle();
  expect(eventsFor(id)).toHaveLength(0);

  await catalog.updateFilm(id, film('Undated', '2026-07-01'));
  await waitFor(async () => eventsFor(id).length === 1, 10_000);
  expect(eventsFor(id)[0]!.body.genres).toEqual([{ id: genreId, name: genreName }]);

  // Later edits, a date removed and set again: nothing more.
  await catalog.updateFilm(id, film('Renamed', '2026-07-02'));
  await catalog.updateFilm(id, film('Renamed'));
  await catalog.updateFilm(id, film('Renamed', '2026-08-01'));
  await settle();
  expect(eventsFor(id)).toHaveLength(1);
  expect(await publisher.backlog()).toBe(0);
});

it('writes the film and its event in one transaction: either both or neither', async () => {
  // A failure after the film row is written (here: a trigger on the announcement) rolls both back.
  await db.pool.query(`
    CREATE FUNCTION content.test_boom() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (SELECT title FROM content.film_work WHERE id = NEW.film_id) = 'Boom' THEN
        RAISE EXCEPTION 'boom';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER test_boom BEFORE INSERT ON content.film_announcement
      FOR EACH ROW EXECUTE FUNCTION content.test_boom();`);
  try {
    const count = async () =>
      (
        await db.pool.query(`SELECT
          (SELECT count(*)::int FROM content.outbox) AS events,
          (SELECT count(*)::int FROM content.film_work WHERE title = 'Boom') AS films`)
      ).rows[0];
    const before = await count();
    await expect(catalog.createFilm(film('Boom', '2026-01-01'))).rejects.toThrow();
    expect(await count()).toEqual({ ...before, films: 0 });
    const id = await catalog.createFilm(film('Boom'));
    await expect(catalog.updateFilm(id, film('Boom', '2026-01-01'))).rejects.toThrow();
    expect((await catalog.film(id)).creationDate).toBeNull();
    expect(await count()).toEqual({ ...before, films: 1 });
  } finally {
    await db.pool.query(`DROP TRIGGER test_boom ON content.film_announcement`);
  }
});

it('keeps events while RabbitMQ is unreachable and relays them later', async () => {
  const offline = new OutboxPublisher({
    pool: db.pool,
    amqpUrl: 'amqp://guest:guest@127.0.0.1:1',
    exchange,
    logger: createLogger({ service: 'catalog-admin-test', level: 'silent' }),
    pollMs: 100,
    appId: 'catalog-admin',
  });
  await publisher.stop();
  const repo = new PgCatalogRepository(db.pool, { onEvents: offline.notify });
  const id = await new CatalogService(repo).createFilm(film('While down', '2026-09-09'));
  await expect(offline.drainOnce()).rejects.toThrow();
  expect(await offline.backlog()).toBeGreaterThanOrEqual(1);
  publisher.start();
  publisher.notify();
  await waitFor(async () => eventsFor(id).length === 1, 10_000);
});
