/**
 * review.liked through the votes' outbox on the stack's FerretDB and RabbitMQ: the event is
 * stored in the vote's own document write, relayed with message_id after the broker's confirm,
 * once per new like (a repeated like, a dislike, a withdrawn vote send nothing); entries wait
 * while RabbitMQ is unreachable and go out later.
 */
import { randomUUID } from 'node:crypto';
import * as amqp from 'amqplib';
import { createLogger } from '@cinema/logging';
import { suffix, waitFor } from '@cinema/testing';
import { collections } from '../src/adapters/mongo';
import { ReviewEventsRelay } from '../src/adapters/review-events.outbox';
import { wireUseCases, type UseCases } from '../src/wiring';
import { newFilmId, startHarness, type Harness } from './helpers';

const AMQP_URL = process.env.AMQP_URL!;
const exchange = `ugc.events.test.${suffix()}`;
const logger = createLogger({ service: 'ugc-api-test', level: 'silent' });

let h: Harness;
let services: UseCases;
let relay: ReviewEventsRelay;
let connection: amqp.ChannelModel;
const received: Array<{
  messageId: string;
  routingKey: string;
  appId?: string;
  body: Record<string, unknown>;
}> = [];

const user = () => ({ id: randomUUID(), roles: ['public_user'] });
const settle = () => new Promise((r) => setTimeout(r, 600));

beforeAll(async () => {
  h = await startHarness('events');
  relay = new ReviewEventsRelay({
    collections: collections(h.db),
    amqpUrl: AMQP_URL,
    exchange,
    logger,
    pollMs: 100,
  });
  services = await wireUseCases(h.db, { onReviewEvent: relay.notify });
  connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, exchange, 'review.#');
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
  relay.start();
});

afterAll(async () => {
  await relay.stop();
  const channel = await connection.createChannel();
  await channel.deleteExchange(exchange).catch(() => undefined);
  await connection.close();
  await h.close();
});

const eventsFor = (reviewId: string) => received.filter((m) => m.body.review_id === reviewId);

it('publishes review.liked for a new like, with the vote in the same document', async () => {
  const author = user();
  const liker = user();
  const filmId = newFilmId();
  const review = await services.reviews.create(author, filmId, 'A fine film.');
  await services.reviews.vote(liker, review.id, 'like');
  await waitFor(async () => eventsFor(review.id).length === 1, 10_000);
  const [m] = eventsFor(review.id);
  expect(m!.routingKey).toBe('review.liked');
  expect(m!.appId).toBe('ugc-api');
  expect(m!.messageId).toBe(m!.body.message_id);
  expect(m!.body).toEqual({
    message_id: m!.messageId,
    event: 'review.liked',
    review_id: review.id,
    film_id: filmId,
    author_id: author.id,
    liker_id: liker.id,
    liked_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
  });
  const vote = await collections(h.db).reviewVotes.findOne({ userId: liker.id });
  expect(vote).toMatchObject({ value: 'like', outboxPending: false });
  expect(vote!.outbox!.messageId).toBe(m!.messageId);
});

it('sends nothing for a repeated like, a dislike or a withdrawal; a like again is a new event', async () => {
  const review = await services.reviews.create(user(), newFilmId(), 'Second.');
  const liker = user();
  await services.reviews.vote(liker, review.id, 'like');
  await services.reviews.vote(liker, review.id, 'like');
  await waitFor(async () => eventsFor(review.id).length === 1, 10_000);
  await services.reviews.vote(liker, review.id, 'dislike');
  await services.reviews.vote(liker, review.id, null);
  await services.reviews.vote(user(), review.id, 'dislike');
  await settle();
  expect(eventsFor(review.id)).toHaveLength(1);
  await services.reviews.vote(liker, review.id, 'like');
  await waitFor(async () => eventsFor(review.id).length === 2, 10_000);
  const ids = eventsFor(review.id).map((m) => m.messageId);
  expect(new Set(ids).size).toBe(2);
  expect(await relay.backlog()).toBe(0);
});

it('keeps entries on their votes while RabbitMQ is unreachable and relays them later', async () => {
  await relay.stop();
  const offline = new ReviewEventsRelay({
    collections: collections(h.db),
    amqpUrl: 'amqp://guest:guest@127.0.0.1:1',
    exchange,
    logger,
    pollMs: 100,
  });
  const review = await services.reviews.create(user(), newFilmId(), 'Third.');
  await services.reviews.vote(user(), review.id, 'like');
  await expect(offline.drainOnce()).rejects.toThrow();
  expect(await relay.backlog()).toBe(1);
  relay.start();
  await waitFor(async () => eventsFor(review.id).length === 1, 10_000);
  expect(await relay.backlog()).toBe(0);
});
