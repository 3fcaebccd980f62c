/**
 * The outbox survives a RabbitMQ outage. The publisher reaches the shared broker through a TCP
 * proxy owned by this test: closing the proxy (and cutting its connections) is a broker outage
 * for the publisher, without stopping the RabbitMQ others use.
 */
import * as net from 'node:net';
import * as amqp from 'amqplib';
import request from 'supertest';
import { freePort, waitFor } from '@cinema/testing';
import { dropSchema, startService, suffix, UA, type TestService } from './helpers';

class Proxy {
  private server?: net.Server;
  private sockets = new Set<net.Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}
  async up(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const sock of [client, upstream]) {
        this.sockets.add(sock);
        sock.on('close', () => this.sockets.delete(sock));
        sock.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
  }
  async down(): Promise<void> {
    for (const sock of this.sockets) sock.destroy();
    await new Promise((r) => this.server?.close(r));
    this.server = undefined;
  }
}

let s: TestService;
let proxy: Proxy;
let conn: amqp.ChannelModel;
let channel: amqp.Channel;
const received: Array<{
  key: string;
  id: string;
  body: Record<string, unknown>;
  persistent: boolean;
}> = [];
const password = 'correct horse battery';
/** Polls `what` until true (the shared waitFor, 20 s unless told). */
const until = (what: () => boolean | Promise<boolean>, ms = 20_000) =>
  waitFor(async () => await what(), ms);

beforeAll(async () => {
  const broker = new URL(process.env.AMQP_URL!);
  proxy = new Proxy(await freePort(), { host: broker.hostname, port: Number(broker.port) });
  await proxy.up();
  const viaProxy = new URL(broker);
  viaProxy.port = String(proxy.port);
  s = await startService({ AMQP_URL: viaProxy.toString() });

  conn = await amqp.connect(process.env.AMQP_URL!);
  channel = await conn.createChannel();
  await channel.assertExchange(s.config.AUTH_EVENTS_EXCHANGE, 'topic', { durable: true });
  const q = await channel.assertQueue(`auth-outbox-test-${suffix()}`, {
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
      persistent: msg.properties.deliveryMode === 2,
    });
    channel.ack(msg);
  });
});
afterAll(async () => {
  await s.close();
  await proxy.down();
  await channel.deleteExchange(s.config.AUTH_EVENTS_EXCHANGE).catch(() => undefined);
  await conn.close();
  await dropSchema(s.schema);
});

describe('events through the outbox', () => {
  it('publishes user.registered, user.login_new_device and user.password_reset_requested', async () => {
    const email = `ev-${suffix()}@example.com`;
    const reg = await request(s.app).post('/api/v1/auth/register').send({ email, password });
    const login = (ua: string) =>
      request(s.app).post('/api/v1/auth/login').set('User-Agent', ua).send({ email, password });
    await login(UA.chrome).expect(200); // first device: nothing to warn about
    await login(UA.chrome).expect(200); // known device
    await login(UA.iphone).expect(200); // new device
    await request(s.app).post('/api/v1/auth/password-reset/request').send({ email }).expect(202);
    const mine = () => received.filter((m) => m.body.email === email);
    await until(() => mine().length >= 3);
    await new Promise((r) => setTimeout(r, 300));
    expect(mine().map((m) => m.key)).toEqual([
      'user.registered',
      'user.login_new_device',
      'user.password_reset_requested',
    ]);
    for (const m of mine()) {
      expect(m.persistent).toBe(true);
      expect(m.id).toBe(m.body.message_id);
      expect(m.body.user_id).toBe(reg.body.id);
    }
    expect(mine()[1]!.body).toMatchObject({ device_type: 'mobile' });
    expect(mine()[2]!.body.reset_token).toEqual(expect.any(String));
    expect(await s.c.publisher.backlog()).toBe(0);
  });

  it('keeps events while RabbitMQ is unreachable and delivers each exactly once when it is back', async () => {
    await until(() => s.c.publisher.connected);
    await proxy.down();
    await until(() => !s.c.publisher.connected, 5000);

    const emails = Array.from({ length: 5 }, () => `outage-${suffix()}@example.com`);
    for (const email of emails) {
      // The API does not depend on the broker: registration succeeds during the outage.
      await request(s.app).post('/api/v1/auth/register').send({ email, password }).expect(201);
    }
    await new Promise((r) => setTimeout(r, 1500)); // the publisher tries and fails meanwhile
    expect(await s.c.publisher.backlog()).toBe(5);
    expect(received.filter((m) => emails.includes(m.body.email as string))).toHaveLength(0);
    expect(s.logs.join('')).toMatch(/events stay in the outbox/);

    await proxy.up();
    await until(async () => (await s.c.publisher.backlog()) === 0, 40_000);
    await until(() => received.filter((m) => emails.includes(m.body.email as string)).length >= 5);
    await new Promise((r) => setTimeout(r, 1000));
    const got = received.filter((m) => emails.includes(m.body.email as string));
    expect(got.map((m) => m.body.email).sort()).toEqual([...emails].sort());
    expect(new Set(got.map((m) => m.id)).size).toBe(5);
  });

  it('a reset token waiting through a broker outage is scrubbed once expired; the event still goes out (item 8)', async () => {
    await until(() => s.c.publisher.connected);
    await proxy.down();
    await until(() => !s.c.publisher.connected, 5000);
    const email = `scrub-${suffix()}@example.com`;
    await request(s.app).post('/api/v1/auth/register').send({ email, password }).expect(201);
    await request(s.app).post('/api/v1/auth/password-reset/request').send({ email }).expect(202);
    const row = async () =>
      (
        await s.c.pool.query(
          `SELECT id, published_at, payload FROM outbox
           WHERE routing_key = 'user.password_reset_requested' AND payload->>'email' = $1`,
          [email],
        )
      ).rows[0];
    const waiting = await row();
    expect(waiting.published_at).toBeNull();
    expect(waiting.payload.reset_token).toEqual(expect.any(String)); // needed until it is sent
    // The outage outlasts the token (PASSWORD_RESET_TTL_SECONDS): the token opens nothing now
    // and must not stay at rest.
    await s.c.pool.query(
      `UPDATE outbox SET payload = jsonb_set(payload, '{expires_at}', to_jsonb((now() - interval '1 minute')::text))
       WHERE id = $1`,
      [waiting.id],
    );
    await s.c.publisher.cleanup();
    const scrubbed = await row();
    expect(scrubbed.published_at).toBeNull();
    expect(scrubbed.payload).not.toHaveProperty('reset_token');
    expect(scrubbed.payload).not.toHaveProperty('reset_url');
    expect(JSON.stringify(scrubbed.payload)).not.toContain(waiting.payload.reset_token);

    await proxy.up();
    await until(() =>
      received.some((m) => m.body.email === email && m.key === 'user.password_reset_requested'),
    );
    const sent = received.find(
      (m) => m.body.email === email && m.key === 'user.password_reset_requested',
    )!;
    expect(sent.body.reset_token).toBeUndefined();
    expect(sent.body.user_id).toEqual(expect.any(String));
    expect(s.logs.join('')).not.toContain(waiting.payload.reset_token);
  });
});
