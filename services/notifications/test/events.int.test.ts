/**
 * auth.events consumed on the real RabbitMQ, PostgreSQL and MailDev: the welcome, reset and
 * new-device mails; a republished message id sends nothing twice; a malformed message goes to the
 * dead-letter queue at once with its reason and does not block the queue.
 */
import { randomUUID } from 'node:crypto';
import * as amqp from 'amqplib';
import {
  deleteMailsTo,
  mailTo,
  mailsTo,
  sleep,
  startService,
  waitFor,
  type TestService,
} from './helpers';

let svc: TestService;
const addresses: string[] = [];
const address = () => {
  const a = `n-${randomUUID().slice(0, 8)}@example.test`;
  addresses.push(a);
  return a;
};

beforeAll(async () => {
  svc = await startService();
});

afterAll(async () => {
  await svc?.close();
  await deleteMailsTo(...addresses);
});

const registered = (userId: string, email: string, extra: Record<string, unknown> = {}) => ({
  user_id: userId,
  email,
  first_name: 'Ann',
  last_name: null,
  method: 'password',
  email_verified: false,
  verification_token: 'tok-123',
  verification_url: `http://127.0.0.1:8080/account/verify-email#token=tok-${userId}`,
  verification_expires_at: '2026-12-03T00:00:00.000Z',
  ...extra,
});

/** The DLQ's messages (taken off it). */
async function dlqMessages(): Promise<Array<{ body: string; headers: Record<string, unknown> }>> {
  const out: Array<{ body: string; headers: Record<string, unknown> }> = [];
  for (;;) {
    const m = await svc.channel.get(svc.deps.consumers.authEvents.names.dlq, { noAck: true });
    if (!m) return out;
    out.push({ body: m.content.toString(), headers: m.properties.headers ?? {} });
  }
}

test('user.registered: a welcome mail (HTML + text) with the verification link, and an inbox item', async () => {
  const userId = randomUUID();
  const email = address();
  await svc.publish('user.registered', registered(userId, email), { messageId: randomUUID() });
  const mail = await mailTo(email, /Welcome to Cinema, Ann/);
  expect(mail.text).toContain(`/account/verify-email#token=tok-${userId}`);
  expect(mail.html).toContain('Confirm my address');
  expect(mail.headers['list-unsubscribe']).toBeUndefined(); // account mail: transactional
  const recipient = await svc.deps.recipients.get(userId);
  expect(recipient).toMatchObject({ email, emailVerified: false, locale: 'en' });
  expect(await svc.deps.inbox.unreadCount(userId)).toBe(1);
});

test('a republished message id sends nothing twice (redelivery, a second publish)', async () => {
  const userId = randomUUID();
  const email = address();
  const messageId = randomUUID();
  const body = registered(userId, email);
  await svc.publish('user.registered', body, { messageId });
  await mailTo(email, /Welcome/);
  await svc.publish('user.registered', body, { messageId });
  await svc.publish('user.registered', body, { messageId });
  await waitFor(async () => svc.deps.consumers.authEvents.stats.handled >= 3);
  await sleep(1000);
  expect(await mailsTo(email)).toHaveLength(1);
  expect(await svc.deps.inbox.unreadCount(userId)).toBe(1);
  const deliveries = await svc.deps.deliveries.ofMessage(messageId);
  expect(deliveries.map((d) => [d.channel, d.status]).sort()).toEqual([
    ['email', 'sent'],
    ['in_app', 'sent'],
  ]);
  // The link's secret left the database once sent.
  expect(deliveries.find((d) => d.channel === 'email')!.vars).not.toHaveProperty(
    'verification_url',
  );
});

test('russian locale: the recipient gets the ru template', async () => {
  const userId = randomUUID();
  const email = address();
  await svc.publish(
    'user.registered',
    registered(userId, email, { locale: 'ru-RU', email_verified: true }),
    {
      messageId: randomUUID(),
    },
  );
  const mail = await mailTo(email, /Добро пожаловать/);
  expect(mail.text).not.toContain('verify-email'); // verified already: no link
});

test('user.password_reset_requested: the reset mail', async () => {
  const userId = randomUUID();
  const email = address();
  await svc.publish(
    'user.password_reset_requested',
    {
      user_id: userId,
      email,
      reset_token: 'r',
      reset_url: 'http://127.0.0.1:8080/account/reset-password#token=reset-abc',
      expires_at: '2026-12-01T05:00:00.000Z',
    },
    { messageId: randomUUID() },
  );
  const mail = await mailTo(email, /Reset your Cinema password/);
  expect(mail.text).toContain('#token=reset-abc');
});

test('user.login_new_device: the security alert (mail and inbox)', async () => {
  const userId = randomUUID();
  const email = address();
  await svc.publish(
    'user.login_new_device',
    {
      user_id: userId,
      email,
      session_id: randomUUID(),
      device_type: 'web',
      device: 'Firefox on Linux',
      ip: '203.0.113.9',
      method: 'password',
    },
    { messageId: randomUUID() },
  );
  const mail = await mailTo(email, /New sign-in/);
  expect(mail.text).toContain('Firefox on Linux');
  expect(mail.text).toContain('203.0.113.9');
  await waitFor(async () => (await svc.deps.inbox.unreadCount(userId)) === 1);
});

test('user.email_change_requested: the link to the new address, a notice to the current one', async () => {
  const userId = randomUUID();
  const [email, newEmail] = [address(), address()];
  await svc.publish(
    'user.email_change_requested',
    {
      user_id: userId,
      email,
      new_email: newEmail,
      expires_at: '2026-12-01T05:00:00.000Z',
      confirm_token: 'c',
      confirm_url: 'http://127.0.0.1:8080/account/confirm-email#token=change-xyz',
    },
    { messageId: randomUUID() },
  );
  const confirm = await mailTo(newEmail, /Confirm your new e-mail/);
  expect(confirm.text).toContain('#token=change-xyz');
  const notice = await mailTo(email, /about to change/);
  expect(notice.text).toContain(newEmail);
  expect(notice.text).not.toContain('change-xyz');
});

test('user.updated / user.deleted keep the projection', async () => {
  const userId = randomUUID();
  const email = address();
  await svc.publish('user.registered', registered(userId, email), { messageId: randomUUID() });
  await mailTo(email, /Welcome/);
  await svc.publish(
    'user.updated',
    {
      user_id: userId,
      email,
      email_verified: true,
      locale: 'ru',
      time_zone: 'Europe/Moscow',
      phone: '+79990000000',
      phone_verified: true,
    },
    { messageId: randomUUID(), timestamp: Math.floor(Date.now() / 1000) + 1 },
  );
  await waitFor(async () => (await svc.deps.recipients.get(userId))?.timeZone === 'Europe/Moscow');
  expect(await svc.deps.recipients.get(userId)).toMatchObject({
    locale: 'ru',
    phoneVerified: true,
    emailVerified: true,
  });
  // An older event redelivered late changes nothing.
  await svc.publish(
    'user.updated',
    { user_id: userId, time_zone: 'Asia/Tokyo' },
    { messageId: randomUUID(), timestamp: Math.floor(Date.now() / 1000) - 3600 },
  );
  await svc.publish(
    'user.deleted',
    { user_id: userId },
    { messageId: randomUUID(), timestamp: Math.floor(Date.now() / 1000) + 2 },
  );
  await waitFor(async () => Boolean((await svc.deps.recipients.get(userId))?.deletedAt));
  const gone = await svc.deps.recipients.get(userId);
  expect(gone).toMatchObject({ email: null, phone: null, timeZone: 'Europe/Moscow' });
  expect(await svc.deps.inbox.unreadCount(userId)).toBe(0);
});

test('poison: not JSON, no message id, a malformed payload go to the DLQ at once with the reason; the queue keeps flowing', async () => {
  await dlqMessages(); // empty it
  const before = svc.deps.consumers.authEvents.stats.deadLettered;
  await svc.publish('user.registered', Buffer.from('{not json'), { messageId: randomUUID() });
  await svc.publish('user.registered', { user_id: randomUUID(), email: address() }); // no message id
  await svc.publish(
    'user.password_reset_requested',
    { user_id: 'not-a-uuid', email: 42 },
    { messageId: randomUUID() },
  );
  // A good message behind them still goes.
  const email = address();
  await svc.publish('user.registered', registered(randomUUID(), email), {
    messageId: randomUUID(),
  });
  await mailTo(email, /Welcome/);
  await waitFor(async () => svc.deps.consumers.authEvents.stats.deadLettered >= before + 3);
  const dead = await waitFor(async () => {
    const m = await dlqMessages();
    return m.length >= 3 ? m : undefined;
  });
  const reasons = dead.map((m) => String(m.headers['x-death-reason']));
  expect(reasons).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^malformed: the body is not JSON/),
      expect.stringMatching(/^malformed: no message_id/),
      expect.stringMatching(/^malformed: malformed user\.password_reset_requested.*user_id/),
    ]),
  );
  expect(
    dead.every(
      (m) =>
        m.headers['x-attempt'] === 1 &&
        m.headers['x-failed-queue'] === svc.deps.consumers.authEvents.names.work,
    ),
  ).toBe(true);
});

test('the queues are quorum queues with a retry ladder and a DLQ', async () => {
  const names = svc.deps.consumers.authEvents.names;
  expect(names.retries).toEqual([`${names.work}.retry.300ms`, `${names.work}.retry.600ms`]);
  const connection = await amqp.connect(svc.config.AMQP_URL);
  try {
    for (const q of [names.work, ...names.retries, names.dlq]) {
      // Declaring it as a classic queue is refused: the existing one is a quorum queue.
      const ch = await connection.createChannel();
      ch.on('error', () => undefined);
      await expect(
        ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'classic' } }),
      ).rejects.toThrow(/PRECONDITION_FAILED/);
    }
  } finally {
    await connection.close();
  }
});

test('metrics: consumer outcomes, deliveries, queue depth and open streams', async () => {
  const res = await fetch(`${svc.url}/metrics`);
  const text = await res.text();
  expect(text).toMatch(
    /notifications_consumer_messages_total\{queue="[^"]+\.auth-events",outcome="handled"\} [1-9]/,
  );
  expect(text).toMatch(
    /notifications_consumer_messages_total\{[^}]*outcome="dead_lettered"\} [1-9]/,
  );
  expect(text).toMatch(/notifications_deliveries_total\{channel="email",outcome="sent"\} [1-9]/);
  expect(text).toMatch(/notifications_sse_streams 0/);
});
