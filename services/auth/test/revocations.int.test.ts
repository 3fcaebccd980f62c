/**
 * Issue 13 item 5, the auth side: ending sessions publishes their ids (`session.revoked` on the
 * auth events exchange, through the outbox, at once), and `GET /api/v1/auth/revocations` lists
 * them for a verifier that catches up. A RevocationFeed of @cinema/auth (what every service runs)
 * follows the real RabbitMQ.
 */
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import request from 'supertest';
import { createTokenVerifier, RevocationFeed } from '@cinema/auth';
import { createLogger } from '@cinema/logging';
import { createStore } from '../src/adapters/db';
import { dropSchema, startService, suffix, type TestService } from './helpers';

let s: TestService;
let server: Server;
let base: string;
const feeds: RevocationFeed[] = [];
const password = 'correct horse battery';
const logger = createLogger({ service: 'feed-test', level: 'silent' });

beforeAll(async () => {
  s = await startService();
  server = s.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await Promise.all(feeds.map((f) => f.close()));
  await new Promise((r) => server.close(r));
  await s.close();
  await dropSchema(s.schema);
});

/** Polls every 5 ms (waitFor of @cinema/testing polls every 100 ms: too coarse to time). */
async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!cond()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - started;
}

/** A TCP relay to RabbitMQ that the test can cut (every connection dropped, new ones refused). */
async function relay() {
  const target = new URL(process.env.AMQP_URL!);
  const sockets = new Set<net.Socket>();
  let open = true;
  const srv = net.createServer((client) => {
    if (!open) return client.destroy();
    const upstream = net.connect(Number(target.port || 5672), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((srv.address() as AddressInfo).port);
  return {
    url: url.toString(),
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    close: () => new Promise((r) => srv.close(r)),
  };
}

function feed(amqpUrl = process.env.AMQP_URL!): RevocationFeed {
  const f = new RevocationFeed({
    amqpUrl,
    exchange: s.config.AUTH_EVENTS_EXCHANGE,
    catchUpUrl: `${base}/api/v1/auth/revocations`,
    logger,
  }).start();
  feeds.push(f);
  return f;
}

async function login(email: string) {
  const res = await request(s.app).post('/api/v1/auth/login').send({ email, password });
  expect(res.status).toBe(200);
  const claims = JSON.parse(
    Buffer.from(res.body.accessToken.split('.')[1], 'base64url').toString(),
  ) as { sid: string; exp: number };
  return { access: res.body.accessToken as string, sid: claims.sid, exp: claims.exp };
}

async function account() {
  const email = `rev-${suffix()}@example.com`;
  const reg = await request(s.app).post('/api/v1/auth/register').send({ email, password });
  expect(reg.status).toBe(201);
  return email;
}

describe('session revocation feed', () => {
  it('publishes a logout at once: a live feed denies the session, the verifier answers 401', async () => {
    const live = feed();
    await until(() => live.state === 'live', 10_000, 'a live feed');
    await expect(live.check()).resolves.toEqual({ detail: expect.stringMatching(/^live/) });
    const email = await account();
    const a = await login(email);
    const b = await login(email);
    const verify = createTokenVerifier({
      jwks: s.deps.keys.jwks() as never,
      issuer: s.config.JWT_ISSUER,
      audience: s.config.JWT_AUDIENCE,
      revocations: live,
    });
    await expect(verify(a.access)).resolves.toMatchObject({ sessionId: a.sid });

    const started = Date.now();
    const out = await request(s.app)
      .post('/api/v1/auth/logout')
      .set('Authorization', `Bearer ${a.access}`);
    expect(out.status).toBeLessThan(300);
    await until(() => live.denyList.has(a.sid), 2000, 'the revocation');
    const ms = Date.now() - started;
    console.log(`logout -> deny list of a live feed: ${ms} ms`);
    expect(ms).toBeLessThan(2000);
    await expect(verify(a.access)).rejects.toThrow(/session has ended/);
    // The other session is untouched.
    await expect(verify(b.access)).resolves.toMatchObject({ sessionId: b.sid });

    // logout-all ends the rest: one event naming them.
    const c = await login(email);
    await request(s.app)
      .post('/api/v1/auth/logout-all')
      .set('Authorization', `Bearer ${c.access}`)
      .expect((r) => expect(r.status).toBeLessThan(300));
    await until(() => live.denyList.has(b.sid) && live.denyList.has(c.sid), 2000, 'logout-all');

    const rows = await s.c.pool.query<{ payload: { session_ids: string[]; exp: number } }>(
      `SELECT payload FROM outbox WHERE routing_key = 'session.revoked' ORDER BY created_at`,
    );
    // Published rows may already be scrubbed (item 8); those kept carry ids and the last exp.
    for (const { payload } of rows.rows) {
      expect(payload.session_ids.length).toBeGreaterThan(0);
      expect(payload.exp).toBeGreaterThanOrEqual(a.exp - 5);
    }
  });

  it('lists ended sessions for a verifier that catches up (no feed was running)', async () => {
    const email = await account();
    const a = await login(email);
    await request(s.app).post('/api/v1/auth/logout').set('Authorization', `Bearer ${a.access}`);

    const list = await request(s.app).get('/api/v1/auth/revocations');
    expect(list.status).toBe(200);
    expect(list.body.revocations).toEqual(
      expect.arrayContaining([{ sid: a.sid, exp: expect.any(Number) }]),
    );
    const entry = list.body.revocations.find((r: { sid: string }) => r.sid === a.sid);
    // No token of the session outlives the entry.
    expect(entry.exp).toBeGreaterThanOrEqual(a.exp);
    expect(entry.exp).toBeLessThanOrEqual(a.exp + 60);
    const later = await request(s.app)
      .get('/api/v1/auth/revocations')
      .query({ since: list.body.now });
    expect(later.body.revocations.map((r: { sid: string }) => r.sid)).not.toContain(a.sid);
    expect((await request(s.app).get('/api/v1/auth/revocations?since=yesterday')).status).toBe(422);

    // A feed started now gets it from the catch-up before it calls itself live.
    const late = feed();
    await until(() => late.state === 'live', 10_000, 'a live feed');
    expect(late.denyList.has(a.sid)).toBe(true);
  });

  it('says it is lost (readiness, metric) when RabbitMQ goes away, and catches up on reconnecting', async () => {
    const r = await relay();
    try {
      const f = feed(r.url);
      await until(() => f.state === 'live', 10_000, 'a live feed');
      const email = await account();
      const a = await login(email);

      r.cut();
      await until(() => f.state === 'lost', 5_000, 'the feed to notice');
      await expect(f.check()).rejects.toThrow(/revocation feed lost since/);
      const registry = new (await import('prom-client')).Registry();
      f.registerMetrics(registry);
      expect(await registry.metrics()).toMatch(/^auth_revocation_feed_up 0$/m);
      // Ended while the feed is away: its event reaches no queue of this verifier.
      await request(s.app).post('/api/v1/auth/logout').set('Authorization', `Bearer ${a.access}`);
      await new Promise((res) => setTimeout(res, 300));
      expect(f.denyList.has(a.sid)).toBe(false);

      r.restore();
      const ms = await until(() => f.state === 'live', 15_000, 'the feed back');
      expect(f.denyList.has(a.sid)).toBe(true);
      expect(f.reconnects).toBeGreaterThan(0);
      await expect(f.check()).resolves.toEqual({ detail: expect.stringMatching(/^live/) });
      console.log(`feed back and caught up ${ms} ms after RabbitMQ was reachable again`);
    } finally {
      r.cut();
      await r.close();
    }
  });

  it('publishes a password change (the other sessions end) and nothing for a rolled-back revocation', async () => {
    const live = feed();
    await until(() => live.state === 'live', 10_000, 'a live feed');
    const email = await account();
    const a = await login(email);
    const b = await login(email);
    const changed = await request(s.app)
      .put('/api/v1/auth/password')
      .set('Authorization', `Bearer ${a.access}`)
      .send({ currentPassword: password, newPassword: 'another horse battery' });
    expect(changed.status).toBeLessThan(300);
    await until(() => live.denyList.has(b.sid), 2000, 'the password change');
    expect(live.denyList.has(a.sid)).toBe(false); // the session that changed it goes on

    // A transaction that ends sessions and rolls back publishes nothing.
    const { rows } = await s.c.pool.query<{ user_id: string }>(
      `SELECT user_id FROM sessions WHERE id = $1`,
      [a.sid],
    );
    let notified = 0;
    const store = createStore(s.c.pool, {
      accessTokenTtlSeconds: 900,
      revoked: () => notified++,
    });
    await expect(
      store.transaction(async (tx) => {
        await tx.sessions.revokeAll(rows[0]!.user_id, 'rolled back in a test');
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    const rolledBack = await s.c.pool.query(
      `SELECT count(*)::int AS n FROM outbox WHERE payload->>'reason' = 'rolled back in a test'`,
    );
    expect(rolledBack.rows[0].n).toBe(0);
    expect(notified).toBe(0);
    expect(
      (await request(s.app).get('/api/v1/auth/me').set('Authorization', `Bearer ${a.access}`))
        .status,
    ).toBe(200);
  });
});
