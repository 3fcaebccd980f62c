import request from 'supertest';
import { dropSchema, startService, suffix, type TestService } from './helpers';

let s: TestService;
const password = 'correct horse battery';

beforeAll(async () => {
  s = await startService({
    LOGIN_MAX_FAILURES: '3',
    LOGIN_LOCKOUT_SECONDS: '60',
    RATE_LIMIT_IP_PER_MINUTE: '40',
    RATE_LIMIT_ACCOUNT_PER_HOUR: '2',
  });
});
afterAll(async () => {
  await s.close();
  await dropSchema(s.schema);
});

const login = (email: string, pw: string, ip = '10.0.0.1') =>
  request(s.app)
    .post('/api/v1/auth/login')
    .set('X-Forwarded-For', ip)
    .send({ email, password: pw });

describe('rate limits and lockout', () => {
  it('locks an account after repeated failures (429 + Retry-After), even for the right password', async () => {
    const email = `lock-${suffix()}@example.com`;
    await request(s.app).post('/api/v1/auth/register').send({ email, password }).expect(201);
    for (let i = 0; i < 3; i++) expect((await login(email, 'wrong password!')).status).toBe(401);
    const locked = await login(email, password);
    expect(locked.status).toBe(429);
    expect(locked.headers['content-type']).toMatch(/problem\+json/);
    const retry = Number(locked.headers['retry-after']);
    expect(retry).toBeGreaterThan(50);
    expect(retry).toBeLessThanOrEqual(60);
    // Another account is not affected.
    const other = `free-${suffix()}@example.com`;
    await request(s.app).post('/api/v1/auth/register').send({ email: other, password }).expect(201);
    expect((await login(other, password)).status).toBe(200);
    // Unlocked when the lock expires.
    await s.c.redis.del(`${s.config.RATE_LIMIT_PREFIX}:fail:${email}`);
    expect((await login(email, password)).status).toBe(200);
  });

  it('a success resets the failure count', async () => {
    const email = `reset-${suffix()}@example.com`;
    await request(s.app).post('/api/v1/auth/register').send({ email, password }).expect(201);
    for (let round = 0; round < 3; round++) {
      expect((await login(email, 'wrong password!')).status).toBe(401);
      expect((await login(email, 'wrong password!')).status).toBe(401);
      expect((await login(email, password)).status).toBe(200);
    }
  });

  it('limits attempts per IP on login', async () => {
    const ip = `10.9.${Math.floor(Math.random() * 250)}.1`;
    let limited: request.Response | undefined;
    for (let i = 0; i < 45 && !limited; i++) {
      const r = await login(`nobody-${i}-${suffix()}@example.com`, 'whatever pw', ip);
      if (r.status === 429) limited = r;
      else expect(r.status).toBe(401);
    }
    expect(limited).toBeDefined();
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThan(0);
    // Another address still gets through.
    expect((await login(`x-${suffix()}@example.com`, 'whatever pw', '10.8.0.1')).status).toBe(401);
  });

  it('limits registrations and reset requests per account', async () => {
    const email = `reg-${suffix()}@example.com`;
    const reg = () => request(s.app).post('/api/v1/auth/register').send({ email, password });
    expect((await reg()).status).toBe(201);
    expect((await reg()).status).toBe(409);
    const third = await reg();
    expect(third.status).toBe(429);
    expect(third.headers['retry-after']).toBeDefined();
    const reset = () => request(s.app).post('/api/v1/auth/password-reset/request').send({ email });
    expect((await reset()).status).toBe(202);
    expect((await reset()).status).toBe(202);
    expect((await reset()).status).toBe(429);
  });

  it('answers unknown user and wrong password alike, in similar time', async () => {
    const email = `timing-${suffix()}@example.com`;
    await request(s.app).post('/api/v1/auth/register').send({ email, password }).expect(201);
    const time = async (e: string) => {
      const t = process.hrtime.bigint();
      const r = await login(e, 'not the password', `10.7.${Math.floor(Math.random() * 250)}.2`);
      return { ms: Number(process.hrtime.bigint() - t) / 1e6, r };
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 2; i++) {
      const a = await time(email);
      const b = await time(`ghost-${suffix()}@example.com`);
      expect(a.r.status).toBe(401);
      expect(b.r.status).toBe(401);
      expect(b.r.body.detail).toBe(a.r.body.detail);
      known.push(a.ms);
      unknown.push(b.ms);
      await s.c.redis.del(`${s.config.RATE_LIMIT_PREFIX}:fail:${email}`);
    }
    const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    // Both paths run one argon2 verification: same order of magnitude, not 0 ms vs 20 ms.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.4);
    expect(median(unknown)).toBeLessThan(median(known) * 2.5);
  });
});
