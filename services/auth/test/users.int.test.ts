/**
 * Issue 14, auth's side of notifications' recipients projection: `user.updated` in the outbox
 * (profile with locale and time zone, verification, roles), read from a test queue bound to the
 * service's exchange, and the admin users list notifications back-fills from.
 */
import * as amqp from 'amqplib';
import request from 'supertest';
import { waitFor } from '@cinema/testing';
import { createSuperuser } from '../src/domain/superuser';
import { createStore } from '../src/adapters/db';
import { createPasswordHasher } from '../src/adapters/password.hasher';
import { dropSchema, startService, suffix, type TestService } from './helpers';
import { deleteMailsTo, mailTo, tokenIn } from './mail';

let s: TestService;
let conn: amqp.ChannelModel;
let channel: amqp.Channel;
const received: Array<{ key: string; id: string; body: Record<string, unknown> }> = [];
const password = 'correct horse battery';
const used: string[] = [];
const hasher = createPasswordHasher({ memoryCost: 4096, timeCost: 1, parallelism: 1 });

beforeAll(async () => {
  s = await startService();
  conn = await amqp.connect(process.env.AMQP_URL!);
  channel = await conn.createChannel();
  await channel.assertExchange(s.config.AUTH_EVENTS_EXCHANGE, 'topic', { durable: true });
  const q = await channel.assertQueue(`auth-users-test-${suffix()}`, {
    exclusive: true,
    autoDelete: true,
  });
  await channel.bindQueue(q.queue, s.config.AUTH_EVENTS_EXCHANGE, 'user.#');
  await channel.consume(q.queue, (msg) => {
    if (!msg) return;
    received.push({
      key: msg.fields.routingKey,
      id: msg.properties.messageId as string,
      body: JSON.parse(msg.content.toString()),
    });
    channel.ack(msg);
  });
});
afterAll(async () => {
  await s.close();
  await channel.deleteExchange(s.config.AUTH_EVENTS_EXCHANGE).catch(() => undefined);
  await conn.close();
  await dropSchema(s.schema);
  await deleteMailsTo(...used);
});

async function user(prefix = 'u') {
  const email = `${prefix}-${suffix()}@example.com`;
  used.push(email);
  const reg = await request(s.app)
    .post('/api/v1/auth/register')
    .send({ email, password, firstName: 'Ann' });
  expect(reg.status).toBe(201);
  return { email, id: reg.body.id as string, auth: await tokenOf(email) };
}
async function tokenOf(email: string) {
  const r = await request(s.app).post('/api/v1/auth/login').send({ email, password });
  expect(r.status).toBe(200);
  return { Authorization: `Bearer ${r.body.accessToken}` };
}
async function superUser() {
  const email = `super-${suffix()}@example.com`;
  const su = await createSuperuser(createStore(s.c.pool), hasher, email, password);
  return { email, id: su.user.id, auth: await tokenOf(email) };
}
const updatesOf = (userId: string) =>
  received.filter((m) => m.key === 'user.updated' && m.body.user_id === userId);

describe('user.updated', () => {
  it('goes out on a profile change with the whole account (locale, time zone), not on a no-op', async () => {
    const u = await user();
    const me = await request(s.app)
      .patch('/api/v1/auth/me')
      .set(u.auth)
      .send({ locale: 'ru', timeZone: 'Europe/Moscow', lastName: 'Ivanova' });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ locale: 'ru', timeZone: 'Europe/Moscow', lastName: 'Ivanova' });
    expect((await request(s.app).get('/api/v1/auth/me').set(u.auth)).body).toMatchObject({
      locale: 'ru',
      timeZone: 'Europe/Moscow',
    });
    await waitFor(async () => updatesOf(u.id).length >= 1, 20_000);
    const [ev] = updatesOf(u.id);
    expect(ev!.id).toBe(ev!.body.message_id);
    expect(ev!.body).toMatchObject({
      type: 'user.updated',
      user_id: u.id,
      email: u.email,
      email_verified: false,
      first_name: 'Ann',
      last_name: 'Ivanova',
      locale: 'ru',
      time_zone: 'Europe/Moscow',
      roles: ['public_user'],
      is_active: true,
    });
    expect(JSON.stringify(ev!.body)).not.toMatch(/password|token/i);

    // The same values again change nothing: no event.
    await request(s.app)
      .patch('/api/v1/auth/me')
      .set(u.auth)
      .send({ locale: 'ru', timeZone: 'Europe/Moscow' })
      .expect(200);
    // Clearing is a change.
    await request(s.app).patch('/api/v1/auth/me').set(u.auth).send({ locale: null }).expect(200);
    await waitFor(async () => updatesOf(u.id).length >= 2, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(updatesOf(u.id)).toHaveLength(2);
    expect(updatesOf(u.id)[1]!.body).toMatchObject({ locale: null, time_zone: 'Europe/Moscow' });
    expect(await s.c.publisher.backlog()).toBe(0);
  });

  it('refuses a bad locale or time zone with 422 problem+json and stores nothing', async () => {
    const u = await user();
    for (const body of [
      { locale: 'russian' },
      { locale: 'RU' },
      { timeZone: 'Mars/Olympus' },
      { timeZone: '' },
      { locale: 'en', timeZone: 'Europe/Nowhere' },
    ]) {
      const r = await request(s.app).patch('/api/v1/auth/me').set(u.auth).send(body);
      expect(r.status).toBe(422);
      expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
    }
    const me = await request(s.app).get('/api/v1/auth/me').set(u.auth);
    expect(me.body).toMatchObject({ locale: null, timeZone: null });
    await request(s.app)
      .patch('/api/v1/auth/me')
      .set(u.auth)
      .send({ locale: 'en-GB', timeZone: 'UTC' })
      .expect(200);
  });

  it('goes out when the address is verified and when roles change', async () => {
    const su = await superUser();
    const u = await user('v');
    const token = tokenIn(await mailTo(u.email, /confirm your e-mail address/i));
    await request(s.app).post('/api/v1/auth/email/verify').send({ token }).expect(204);
    await waitFor(async () => updatesOf(u.id).some((m) => m.body.email_verified === true), 20_000);

    await request(s.app)
      .post(`/api/v1/auth/users/${u.id}/roles`)
      .set(su.auth)
      .send({ role: 'admin' })
      .expect(200);
    await waitFor(
      async () => updatesOf(u.id).some((m) => (m.body.roles as string[]).includes('admin')),
      20_000,
    );
    await request(s.app).delete(`/api/v1/auth/users/${u.id}/roles/admin`).set(su.auth).expect(200);
    await waitFor(async () => {
      const last = updatesOf(u.id).at(-1);
      return !!last && !(last.body.roles as string[]).includes('admin');
    }, 20_000);
    expect(updatesOf(u.id).at(-1)!.body).toMatchObject({
      email_verified: true,
      roles: ['public_user'],
    });
  });
});

describe('user.deleted', () => {
  it('DELETE /me needs the password, empties the account, ends its sessions and publishes user.deleted', async () => {
    const u = await user('d');
    const wrong = await request(s.app)
      .delete('/api/v1/auth/me')
      .set(u.auth)
      .send({ currentPassword: 'not the password' });
    expect(wrong.status).toBe(403);
    expect(wrong.headers['content-type']).toMatch(/application\/problem\+json/);
    expect((await request(s.app).delete('/api/v1/auth/me').set(u.auth).send({})).status).toBe(403);
    await request(s.app)
      .delete('/api/v1/auth/me')
      .set(u.auth)
      .send({ currentPassword: password })
      .expect(204);

    await waitFor(
      async () => received.some((m) => m.key === 'user.deleted' && m.body.user_id === u.id),
      20_000,
    );
    const ev = received.find((m) => m.key === 'user.deleted' && m.body.user_id === u.id)!;
    expect(Object.keys(ev.body).sort()).toEqual(['message_id', 'occurred_at', 'type', 'user_id']);
    // The token's session ended; the password no longer logs in; the address is free again.
    expect((await request(s.app).get('/api/v1/auth/me').set(u.auth)).status).toBe(401);
    const login = await request(s.app)
      .post('/api/v1/auth/login')
      .send({ email: u.email, password });
    expect(login.status).toBe(401);
    const again = await request(s.app)
      .post('/api/v1/auth/register')
      .send({ email: u.email, password });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(u.id);
    // The admin list shows the new account, not the deleted one.
    const su = await superUser();
    const all = await request(s.app).get('/api/v1/auth/users?pageSize=500').set(su.auth);
    const ids = all.body.items.map((i: { id: string }) => i.id);
    expect(ids).toContain(again.body.id);
    expect(ids).not.toContain(u.id);
    expect(all.body.total).toBe(ids.length);
  });
});

describe('GET /api/v1/auth/users', () => {
  it('is for admin and super_user only', async () => {
    const plain = await user('p');
    expect((await request(s.app).get('/api/v1/auth/users')).status).toBe(401);
    const forbidden = await request(s.app).get('/api/v1/auth/users').set(plain.auth);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers['content-type']).toMatch(/application\/problem\+json/);
  });

  it('pages through every account without secrets', async () => {
    const su = await superUser();
    const made = [await user('l'), await user('l'), await user('l')];
    const all = await request(s.app).get('/api/v1/auth/users?pageSize=500').set(su.auth);
    expect(all.status).toBe(200);
    const total = all.body.total as number;
    expect(total).toBeGreaterThanOrEqual(4);
    expect(all.body.items).toHaveLength(total);
    const item = all.body.items.find((i: { id: string }) => i.id === made[0]!.id);
    expect(item).toEqual({
      id: made[0]!.id,
      email: made[0]!.email,
      emailVerified: false,
      firstName: 'Ann',
      lastName: null,
      locale: null,
      timeZone: null,
      roles: ['public_user'],
      isActive: true,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(JSON.stringify(all.body)).not.toMatch(/password|hash/i);

    // Pages of 2 cover the same accounts once each, in creation order.
    const ids: string[] = [];
    for (let page = 1; page <= Math.ceil(total / 2); page++) {
      const r = await request(s.app).get(`/api/v1/auth/users?page=${page}&pageSize=2`).set(su.auth);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ page, pageSize: 2, total });
      ids.push(...r.body.items.map((i: { id: string }) => i.id));
    }
    expect(ids).toEqual(all.body.items.map((i: { id: string }) => i.id));
    const past = await request(s.app)
      .get(`/api/v1/auth/users?page=${total + 1}&pageSize=1`)
      .set(su.auth);
    expect(past.body.items).toEqual([]);
  });

  it('answers 422 problem+json for page or pageSize out of bounds', async () => {
    const su = await superUser();
    for (const q of ['page=0', 'pageSize=0', 'pageSize=501', 'page=x', 'pageSize=1.5', 'page=-1']) {
      const r = await request(s.app).get(`/api/v1/auth/users?${q}`).set(su.auth);
      expect([q, r.status]).toEqual([q, 422]);
      expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
    }
  });
});
