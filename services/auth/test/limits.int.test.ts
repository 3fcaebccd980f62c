import request from 'supertest';
// The module object itself (not an import wrapper): a spy on it sees the service's calls.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const argon2 = require('argon2') as typeof import('argon2');
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
    // Six of each, interleaved: with two, one slow login on a loaded machine decided the median.
    for (let i = 0; i < 6; i++) {
      const a = await time(email);
      const b = await time(`ghost-${suffix()}@example.com`);
      expect(a.r.status).toBe(401);
      expect(b.r.status).toBe(401);
      expect(b.r.body.detail).toBe(a.r.body.detail);
      known.push(a.ms);
      unknown.push(b.ms);
      await s.c.redis.del(`${s.config.RATE_LIMIT_PREFIX}:fail:${email}`);
    }
    const median = (xs: number[]) => {
      const sorted = [...xs].sort((x, y) => x - y);
      const mid = sorted.length >> 1;
      return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    };
    // Both paths run one argon2 verification: same order of magnitude, not 0 ms vs 20 ms.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.4);
    expect(median(unknown)).toBeLessThan(median(known) * 2.5);
  });

  it('30 parallel wrong passwords get at most LOGIN_MAX_FAILURES password evaluations (item 3)', async () => {
    const email = `race-${suffix()}@example.com`;
    const reg = await request(s.app).post('/api/v1/auth/register').send({ email, password });
    expect(reg.status).toBe(201);
    const verify = jest.spyOn(argon2, 'verify');
    try {
      // From 30 addresses, so that only the account's lockout can stop them.
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          login(email, `wrong password ${i}`, `10.6.0.${i + 1}`),
        ),
      );
      const evaluations = verify.mock.calls.length;
      const statuses = answers.map((r) => r.status);
      console.log(
        `30 parallel wrong logins: ${evaluations} password evaluations, ` +
          `${statuses.filter((x) => x === 401).length} x 401, ${statuses.filter((x) => x === 429).length} x 429`,
      );
      expect(evaluations).toBeLessThanOrEqual(3); // LOGIN_MAX_FAILURES of this service
      expect(statuses.filter((x) => x === 401).length).toBeLessThanOrEqual(3);
      expect(statuses.filter((x) => x === 429).length).toBeGreaterThanOrEqual(27);
      const failed = await s.c.pool.query(
        `SELECT count(*)::int AS n FROM login_history WHERE user_id = $1 AND NOT success`,
        [reg.body.id],
      );
      expect(failed.rows[0].n).toBeLessThanOrEqual(3);
      // Locked: the right password is refused too, without an evaluation.
      verify.mockClear();
      expect((await login(email, password, '10.6.1.1')).status).toBe(429);
      expect(verify).not.toHaveBeenCalled();
    } finally {
      verify.mockRestore();
    }
  });

  it('limits wrong current passwords on PUT /password (item 11)', async () => {
    const email = `pw-${suffix()}@example.com`;
    await request(s.app).post('/api/v1/auth/register').send({ email, password }).expect(201);
    const tokens = await login(email, password, '10.5.0.1');
    expect(tokens.status).toBe(200);
    const auth = { Authorization: `Bearer ${tokens.body.accessToken}` };
    const change = (currentPassword: string) =>
      request(s.app)
        .put('/api/v1/auth/password')
        .set(auth)
        .send({ currentPassword, newPassword: 'a brand new secret' });
    for (let i = 0; i < 3; i++) expect((await change(`guess number ${i}`)).status).toBe(403);
    const locked = await change(password);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    // Parallel guesses do not get past the limit either.
    const verify = jest.spyOn(argon2, 'verify');
    try {
      const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => change(`burst ${i}`)));
      expect(burst.every((r) => r.status === 429)).toBe(true);
      expect(verify).not.toHaveBeenCalled();
    } finally {
      verify.mockRestore();
    }
    // The password did not change; login is a separate count.
    expect((await login(email, password, '10.5.0.2')).status).toBe(200);
  });
});
