/**
 * TRUSTED_PROXIES (issue 13, item 4): only configured proxies may name the client in
 * X-Forwarded-For; any other peer is its socket address, for the limits and the login history.
 * The test client connects from loopback, so a service trusting only another address sees it
 * as an untrusted peer, exactly as a client reaching the pod directly.
 */
import request from 'supertest';
import { dropSchema, startService, suffix, type TestService } from './helpers';

let s: TestService;
const password = 'correct horse battery';

beforeAll(async () => {
  s = await startService({
    TRUSTED_PROXIES: '192.0.2.10/32', // the gateway somewhere else: the loopback peer is not it
    RATE_LIMIT_IP_PER_MINUTE: '20',
    AUTH_MAIL: 'off',
  });
});
afterAll(async () => {
  await s.close();
  await dropSchema(s.schema);
});

describe('trusted proxies', () => {
  it('a spoofed X-Forwarded-For from an untrusted peer changes nothing (limits, login history)', async () => {
    // 25 logins, each "from" another address: the per-address limit (20/min) still applies.
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      const r = await request(s.app)
        .post('/api/v1/auth/login')
        .set('X-Forwarded-For', `203.0.113.${i + 1}`)
        .send({ email: `nobody-${i}-${suffix()}@example.com`, password: 'whatever pw' });
      statuses.push(r.status);
    }
    expect(statuses.slice(0, 20).every((x) => x === 401)).toBe(true);
    expect(statuses.slice(20).every((x) => x === 429)).toBe(true);

    // The login history and the session record the socket's address, not the claimed one.
    await s.c.redis.del(`${s.config.RATE_LIMIT_PREFIX}:ip:login:127.0.0.1`);
    await s.c.redis.del(`${s.config.RATE_LIMIT_PREFIX}:ip:login:::ffff:127.0.0.1`);
    const email = `xff-${suffix()}@example.com`;
    await request(s.app).post('/api/v1/auth/register').send({ email, password }).expect(201);
    const login = await request(s.app)
      .post('/api/v1/auth/login')
      .set('X-Forwarded-For', '198.51.100.7')
      .send({ email, password });
    expect(login.status).toBe(200);
    const auth = { Authorization: `Bearer ${login.body.accessToken}` };
    const history = await request(s.app).get('/api/v1/auth/login-history').set(auth);
    expect(history.body.items[0].ip).toMatch(/^(::ffff:)?127\.0\.0\.1$|^::1$/);
    const sessions = await request(s.app).get('/api/v1/auth/sessions').set(auth);
    expect(sessions.body[0].ip).not.toBe('198.51.100.7');
  });
  // The parsing of TRUSTED_PROXIES (default, hop count, CIDR list): config.test.ts (unit).
});
