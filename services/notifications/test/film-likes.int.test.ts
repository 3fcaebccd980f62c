/**
 * catalog.events and ugc.events consumed on the real RabbitMQ, PostgreSQL and MailDev:
 * film.published -> an announcement (mail + inbox) only to the users following one of its genres
 * (by name, or by catalog id after a rename); review.liked -> one digested in-app notice per
 * review per hour ("5 people liked your review") pushed over SSE to the author's open stream; a
 * republished message sends nothing twice; a malformed one goes to the DLQ with its reason.
 * The digest hour passes on the fake clock the service reads, not by sleeping.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as amqp from 'amqplib';
import {
  api,
  deleteMailsTo,
  fakeClock,
  mailTo,
  mailsTo,
  sleep,
  startService,
  suffix,
  waitFor,
  type TestService,
} from './helpers';

const id = suffix();
const CATALOG = `catalog.events.test.${id}`;
const UGC = `ugc.events.test.${id}`;
const time = fakeClock(new Date().toISOString());

let svc: TestService;
let connection: amqp.ChannelModel;
let channel: amqp.ConfirmChannel;
const addresses: string[] = [];

beforeAll(async () => {
  svc = await startService(
    { CATALOG_EVENTS_EXCHANGE: CATALOG, UGC_EVENTS_EXCHANGE: UGC, REVIEW_LIKES_FLUSH_MS: '150' },
    { clock: time },
  );
  connection = await amqp.connect(svc.config.AMQP_URL);
  channel = await connection.createConfirmChannel();
});

afterAll(async () => {
  await svc?.close(); // deletes every consumer's queues
  for (const x of [CATALOG, UGC]) await channel.deleteExchange(x).catch(() => undefined);
  await connection.close().catch(() => undefined);
  await deleteMailsTo(...addresses);
});

async function publish(exchange: string, key: string, body: unknown, messageId?: string) {
  channel.publish(exchange, key, Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body)), {
    persistent: true,
    contentType: 'application/json',
    type: key,
    ...(messageId ? { messageId } : {}),
    timestamp: Math.floor(Date.now() / 1000),
  });
  await channel.waitForConfirms();
}

/** A recipient with a verified address, and a token for the API. */
async function user(): Promise<{ id: string; email: string; token: string }> {
  const userId = randomUUID();
  const email = `g-${userId.slice(0, 8)}@example.test`;
  addresses.push(email);
  await svc.deps.recipients.apply(
    { userId, email, emailVerified: true, locale: 'en', firstName: 'Ann' },
    new Date(),
  );
  return { id: userId, email, token: await svc.token(userId) };
}

const inboxOf = async (u: { token: string }) =>
  (await api(svc.url, '/api/v1/notifications/inbox', { token: u.token })).body.items as Array<{
    id: string;
    category: string;
    title: string;
    body: string;
    link: string | null;
  }>;

const deliveriesOf = async (messageId: string) =>
  (
    await svc.deps.pool.query<{ recipient: string; channel: string; status: string }>(
      `SELECT recipient, channel, status FROM deliveries WHERE message_id = $1 ORDER BY 1, 2`,
      [messageId],
    )
  ).rows;

describe('film.published', () => {
  test('the genre opt-ins: listed, replaced, bad entries refused with nothing stored', async () => {
    const u = await user();
    const path = '/api/v1/notifications/preferences/genres';
    expect((await api(svc.url, path, { token: u.token })).body).toEqual({ genres: [] });
    const put = await api(svc.url, path, {
      method: 'PUT',
      token: u.token,
      body: { genres: ['Drama', { name: 'Sci-Fi', id: randomUUID() }, 'drama'] },
    });
    expect(put.status).toBe(200);
    expect(put.body.genres.map((g: { name: string }) => g.name)).toEqual(['drama', 'Sci-Fi']);
    const bad = await api(svc.url, path, {
      method: 'PUT',
      token: u.token,
      body: { genres: ['Comedy', '<script>', { name: 'Noir', id: 'not-a-uuid' }] },
    });
    expect(bad.status).toBe(422);
    expect(Object.keys(bad.body.fields ?? bad.body.errors ?? {}).join(' ')).toMatch(/genres\.1/);
    expect((await api(svc.url, path, { token: u.token })).body.genres).toHaveLength(2);
    expect((await api(svc.url, path)).status).toBe(401);
  });

  test('announced only to the followers of its genres, by mail and in-app, once', async () => {
    const suffixName = randomBytes(3).toString('hex');
    const drama = { id: randomUUID(), name: `Drama ${suffixName}` };
    const thriller = { id: randomUUID(), name: `Thriller ${suffixName}` };
    const byName = await user();
    const byId = await user();
    const other = await user();
    const none = await user();
    const follow = (u: { token: string }, genres: unknown[]) =>
      api(svc.url, '/api/v1/notifications/preferences/genres', {
        method: 'PUT',
        token: u.token,
        body: { genres },
      });
    expect((await follow(byName, [drama.name.toUpperCase()])).status).toBe(200);
    // Followed under the genre's old name: matched by its catalog id.
    expect((await follow(byId, [{ name: `Old name ${suffixName}`, id: thriller.id }])).status).toBe(
      200,
    );
    expect((await follow(other, [`Comedy ${suffixName}`])).status).toBe(200);

    const messageId = randomUUID();
    const filmId = randomUUID();
    const event = {
      message_id: messageId,
      event: 'film.published',
      film_id: filmId,
      title: `The Film ${suffixName}`,
      release_date: '2026-12-24',
      genres: [drama, thriller],
      occurred_at: new Date().toISOString(),
    };
    await publish(CATALOG, 'film.published', event, messageId);
    // Generous waits: the machine may be shared with other suites.
    const mail = await mailTo(
      byName.email,
      new RegExp(`New on Cinema: The Film ${suffixName}`),
      30_000,
    );
    expect(mail.text).toContain(`/player/?film=${filmId}`);
    expect(mail.headers['list-unsubscribe']).toBeTruthy();
    await mailTo(byId.email, new RegExp(`The Film ${suffixName}`), 30_000);
    await waitFor(async () => (await inboxOf(byName)).length === 1);
    expect((await inboxOf(byName))[0]).toMatchObject({
      category: 'new_films',
      title: `New film: The Film ${suffixName}`,
    });

    // Republished: nothing twice.
    await publish(CATALOG, 'film.published', event, messageId);
    await publish(CATALOG, 'film.published', event, messageId);
    await waitFor(async () => svc.deps.consumers.catalogEvents.stats.handled >= 3);
    await sleep(500);
    expect(await mailsTo(byName.email)).toHaveLength(1);
    expect(await mailsTo(byId.email)).toHaveLength(1);
    expect(await inboxOf(byName)).toHaveLength(1);
    expect(await inboxOf(byId)).toHaveLength(1);
    expect(await mailsTo(other.email)).toHaveLength(0);
    expect(await mailsTo(none.email)).toHaveLength(0);
    expect(await inboxOf(other)).toHaveLength(0);
    expect(await inboxOf(none)).toHaveLength(0);
    expect((await deliveriesOf(messageId)).map((d) => d.recipient).sort()).toEqual(
      [byName.id, byName.id, byId.id, byId.id].sort(),
    );
  });

  test('a malformed film.published goes to the DLQ with its reason and does not block', async () => {
    const dlq = svc.deps.consumers.catalogEvents.names.dlq;
    await publish(CATALOG, 'film.published', { film_id: 'nope' }, randomUUID());
    await publish(CATALOG, 'film.published', Buffer.from('not json'), randomUUID());
    const got: amqp.GetMessage[] = [];
    await waitFor(async () => {
      const m = await channel.get(dlq, { noAck: true });
      if (m) got.push(m);
      return got.length >= 2;
    });
    const reasons = got.map((m) => String(m.properties.headers?.['x-death-reason']));
    expect(reasons.some((r) => /malformed film\.published: film_id/.test(r))).toBe(true);
    expect(reasons.some((r) => /not JSON/.test(r))).toBe(true);
  });
});

/** Reads SSE `notification` events from a fetch stream until `count` arrived or `ms` passed. */
async function readEvents(
  res: Response,
  count: number,
  ms: number,
): Promise<Array<{ id: string; data: { title: string; body: string } }>> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: Array<{ id: string; data: { title: string; body: string } }> = [];
  let buffer = '';
  const deadline = Date.now() + ms;
  while (events.length < count && Date.now() < deadline) {
    const { value, done } = await Promise.race([
      reader.read(),
      new Promise<{ value: undefined; done: true }>((r) =>
        setTimeout(() => r({ value: undefined, done: true }), Math.max(0, deadline - Date.now())),
      ),
    ]);
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = Object.fromEntries(
        block
          .split('\n')
          .filter((l) => l && !l.startsWith(':'))
          .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trimStart()]),
      );
      if (fields.event === 'notification')
        events.push({ id: fields.id, data: JSON.parse(fields.data) });
    }
  }
  return events;
}

describe('review.liked', () => {
  const liked = (reviewId: string, authorId: string, likerId: string) => {
    const messageId = randomUUID();
    return {
      messageId,
      body: {
        message_id: messageId,
        event: 'review.liked',
        review_id: reviewId,
        film_id: randomUUID(),
        author_id: authorId,
        liker_id: likerId,
        liked_at: new Date().toISOString(),
      },
    };
  };

  test('one digested in-app notice per review per hour, pushed over SSE; nothing twice', async () => {
    const author = await user();
    const reviewId = randomBytes(12).toString('hex');
    const controller = new AbortController();
    const res = await fetch(`${svc.url}/api/v1/notifications/stream`, {
      headers: { authorization: `Bearer ${author.token}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    await waitFor(async () => svc.deps.streams.size >= 1);
    const reading = readEvents(res, 2, 6_000);

    const likers = Array.from({ length: 5 }, () => randomUUID());
    const messages = likers.map((l) => liked(reviewId, author.id, l));
    for (const m of messages) await publish(UGC, 'review.liked', m.body, m.messageId);
    // The same like republished, and a second message for a liker already counted.
    await publish(UGC, 'review.liked', messages[0]!.body, messages[0]!.messageId);
    const again = liked(reviewId, author.id, likers[1]!);
    await publish(UGC, 'review.liked', again.body, again.messageId);
    await waitFor(async () => svc.deps.consumers.ugcEvents.stats.handled >= 7);
    await sleep(400); // flusher runs: the hour is not over, no notice yet
    expect(await inboxOf(author)).toHaveLength(0);

    time.set(new Date(time.now.getTime() + 3_600_000 + 1000).toISOString());
    await waitFor(async () => (await inboxOf(author)).length === 1);
    const [notice] = await inboxOf(author);
    expect(notice).toMatchObject({
      category: 'review_activity',
      title: '5 people liked your review',
      body: '5 people liked your review in the last hour.',
    });
    expect(notice!.link).toContain(`/api/v1/ugc/reviews/${reviewId}`);

    // Republished after the notice: counted nowhere, notified nothing.
    for (const m of messages.slice(0, 3)) await publish(UGC, 'review.liked', m.body, m.messageId);
    await waitFor(async () => svc.deps.consumers.ugcEvents.stats.handled >= 10);
    time.set(new Date(time.now.getTime() + 3_600_000 + 1000).toISOString());
    await sleep(500);
    const events = await reading;
    controller.abort();
    expect(events.map((e) => e.data.title)).toEqual(['5 people liked your review']);
    expect(events[0]!.id).toBe(notice!.id);
    expect(await inboxOf(author)).toHaveLength(1);
    const windows = await svc.deps.pool.query(
      `SELECT likers FROM review_like_windows WHERE review_id = $1`,
      [reviewId],
    );
    expect(windows.rows).toEqual([{ likers: 5 }]);
  });

  test('a like in a later hour is a new notice; the preference review_activity/in_app is honoured', async () => {
    const author = await user();
    const reviewId = randomBytes(12).toString('hex');
    const one = liked(reviewId, author.id, randomUUID());
    await publish(UGC, 'review.liked', one.body, one.messageId);
    await waitFor(async () =>
      Boolean(
        (
          await svc.deps.pool.query(`SELECT 1 FROM review_like_windows WHERE review_id = $1`, [
            reviewId,
          ])
        ).rowCount,
      ),
    );
    time.set(new Date(time.now.getTime() + 3_600_000 + 1000).toISOString());
    await waitFor(async () => (await inboxOf(author)).length === 1);
    expect((await inboxOf(author))[0]!.title).toBe('Someone liked your review');

    // Turned off: the next hour's likes plan a skipped delivery and no inbox item.
    const off = await api(svc.url, '/api/v1/notifications/preferences', {
      method: 'PUT',
      token: author.token,
      body: { categories: { review_activity: { in_app: false } } },
    });
    expect(off.status).toBe(200);
    const two = liked(reviewId, author.id, randomUUID());
    await publish(UGC, 'review.liked', two.body, two.messageId);
    await waitFor(async () =>
      Boolean(
        (
          await svc.deps.pool.query(
            `SELECT 1 FROM review_like_windows WHERE review_id = $1 AND closed_at IS NULL`,
            [reviewId],
          )
        ).rowCount,
      ),
    );
    time.set(new Date(time.now.getTime() + 3_600_000 + 1000).toISOString());
    await waitFor(async () =>
      Boolean(
        (
          await svc.deps.pool.query(
            `SELECT 1 FROM review_like_windows WHERE review_id = $1 AND notified_at IS NOT NULL
              HAVING count(*) = 2`,
            [reviewId],
          )
        ).rowCount,
      ),
    );
    expect(await inboxOf(author)).toHaveLength(1);
  });

  test('a malformed review.liked goes to the DLQ', async () => {
    await publish(UGC, 'review.liked', { review_id: 'x' }, randomUUID());
    const dlq = svc.deps.consumers.ugcEvents.names.dlq;
    let m: amqp.GetMessage | false = false;
    await waitFor(async () => Boolean((m = await channel.get(dlq, { noAck: true }))));
    expect(
      String((m as unknown as amqp.GetMessage).properties.headers?.['x-death-reason']),
    ).toMatch(/malformed review\.liked: review_id/);
  });
});
