import request from 'supertest';
import { historyQuery } from '../src/adapters/login-history.repository';
import { dropSchema, startService, suffix, UA, type TestService } from './helpers';
import { mailTo, tokenIn } from './mail';

let s: TestService;
const password = 'correct horse battery';

beforeAll(async () => {
  s = await startService({ CORS_ORIGINS: 'https://admin.cinema.example' });
});
afterAll(async () => {
  await s.close();
  await dropSchema(s.schema);
});

const email = () => `user-${suffix()}@example.com`;

async function registerAndLogin(ua = UA.chrome) {
  const e = email();
  const reg = await request(s.app)
    .post('/api/v1/auth/register')
    .send({ email: e, password, firstName: 'Ann' });
  expect(reg.status).toBe(201);
  const login = await request(s.app)
    .post('/api/v1/auth/login')
    .set('User-Agent', ua)
    .send({ email: e, password });
  expect(login.status).toBe(200);
  return { email: e, id: reg.body.id as string, tokens: login.body };
}

describe('accounts', () => {
  it('registers a public_user, logs in with the contract answer, reads and updates the profile', async () => {
    const e = email();
    const reg = await request(s.app)
      .post('/api/v1/auth/register')
      .send({ email: e.toUpperCase(), password, firstName: 'Ann', lastName: 'Lee' });
    expect(reg.status).toBe(201);
    expect(reg.body).toMatchObject({ email: e, firstName: 'Ann', roles: ['public_user'] });
    const dup = await request(s.app).post('/api/v1/auth/register').send({ email: e, password });
    expect(dup.status).toBe(409);
    expect(dup.headers['content-type']).toMatch(/problem\+json/);

    const login = await request(s.app).post('/api/v1/auth/login').send({ email: e, password });
    expect(login.status).toBe(200);
    expect(Object.keys(login.body).sort()).toEqual(
      ['accessToken', 'expiresIn', 'refreshToken', 'tokenType'].sort(),
    );
    expect(login.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    const claims = JSON.parse(
      Buffer.from(login.body.accessToken.split('.')[1], 'base64url').toString(),
    );
    expect(claims).toMatchObject({
      iss: 'cinema-auth',
      aud: 'cinema',
      sub: reg.body.id,
      roles: ['public_user'],
      typ: 'access',
      email: e,
    });
    expect(claims.exp - claims.iat).toBe(900);
    expect(claims.sid).toMatch(/^[0-9a-f-]{36}$/);

    const auth = { Authorization: `Bearer ${login.body.accessToken}` };
    const me = await request(s.app).get('/api/v1/auth/me').set(auth);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: reg.body.id, email: e, lastName: 'Lee' });
    const upd = await request(s.app)
      .patch('/api/v1/auth/me')
      .set(auth)
      .send({ firstName: 'Anna', lastName: null });
    expect(upd.body).toMatchObject({ firstName: 'Anna', lastName: null, email: e });
    expect((await request(s.app).get('/api/v1/auth/me')).status).toBe(401);
  });

  it('changes the password: old one refused, other sessions end, this one stays', async () => {
    const u = await registerAndLogin();
    const other = await request(s.app)
      .post('/api/v1/auth/login')
      .send({ email: u.email, password });
    const auth = { Authorization: `Bearer ${u.tokens.accessToken}` };
    const wrong = await request(s.app)
      .put('/api/v1/auth/password')
      .set(auth)
      .send({ currentPassword: 'nope nope nope', newPassword: 'a brand new secret' });
    expect(wrong.status).toBe(403);
    const weak = await request(s.app)
      .put('/api/v1/auth/password')
      .set(auth)
      .send({ currentPassword: password, newPassword: 'aaaaaaaaaa' });
    expect(weak.status).toBe(422);
    expect(weak.body.errors['body.newPassword']).toBeDefined();
    const ok = await request(s.app)
      .put('/api/v1/auth/password')
      .set(auth)
      .send({ currentPassword: password, newPassword: 'a brand new secret' });
    expect(ok.status).toBe(204);
    expect(
      (await request(s.app).post('/api/v1/auth/login').send({ email: u.email, password })).status,
    ).toBe(401);
    expect(
      (
        await request(s.app)
          .post('/api/v1/auth/login')
          .send({ email: u.email, password: 'a brand new secret' })
      ).status,
    ).toBe(200);
    expect((await request(s.app).get('/api/v1/auth/me').set(auth)).status).toBe(200);
    const otherMe = await request(s.app)
      .get('/api/v1/auth/me')
      .set('Authorization', `Bearer ${other.body.accessToken}`);
    expect(otherMe.status).toBe(401);
    expect(
      (
        await request(s.app)
          .post('/api/v1/auth/refresh')
          .send({ refreshToken: other.body.refreshToken })
      ).status,
    ).toBe(401);
  });

  it('lists and revokes sessions; logout ends this one, logout-all every one', async () => {
    const u = await registerAndLogin(UA.chrome);
    const phone = await request(s.app)
      .post('/api/v1/auth/login')
      .set('User-Agent', UA.iphone)
      .send({ email: u.email, password });
    const tv = await request(s.app)
      .post('/api/v1/auth/login')
      .set('User-Agent', UA.tv)
      .send({ email: u.email, password });
    const auth = { Authorization: `Bearer ${u.tokens.accessToken}` };
    const list = await request(s.app).get('/api/v1/auth/sessions').set(auth);
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(3);
    expect(list.body.filter((x: { current: boolean }) => x.current)).toHaveLength(1);
    expect(list.body.map((x: { deviceType: string }) => x.deviceType).sort()).toEqual([
      'mobile',
      'smart_tv',
      'web',
    ]);
    const phoneSid = list.body.find((x: { deviceType: string }) => x.deviceType === 'mobile').id;
    expect(
      (await request(s.app).delete(`/api/v1/auth/sessions/${phoneSid}`).set(auth)).status,
    ).toBe(204);
    expect(
      (
        await request(s.app)
          .get('/api/v1/auth/me')
          .set('Authorization', `Bearer ${phone.body.accessToken}`)
      ).status,
    ).toBe(401);
    expect(
      (await request(s.app).delete(`/api/v1/auth/sessions/${phoneSid}`).set(auth)).status,
    ).toBe(404);
    expect((await request(s.app).delete('/api/v1/auth/sessions/not-a-uuid').set(auth)).status).toBe(
      422,
    );

    const tvAuth = { Authorization: `Bearer ${tv.body.accessToken}` };
    expect((await request(s.app).post('/api/v1/auth/logout').set(tvAuth)).status).toBe(204);
    expect((await request(s.app).get('/api/v1/auth/me').set(tvAuth)).status).toBe(401);
    expect(
      (
        await request(s.app)
          .post('/api/v1/auth/refresh')
          .send({ refreshToken: tv.body.refreshToken })
      ).status,
    ).toBe(401);
    expect((await request(s.app).get('/api/v1/auth/me').set(auth)).status).toBe(200);

    const again = await request(s.app)
      .post('/api/v1/auth/login')
      .send({ email: u.email, password });
    expect((await request(s.app).post('/api/v1/auth/logout-all').set(auth)).status).toBe(204);
    expect((await request(s.app).get('/api/v1/auth/me').set(auth)).status).toBe(401);
    expect(
      (
        await request(s.app)
          .get('/api/v1/auth/me')
          .set('Authorization', `Bearer ${again.body.accessToken}`)
      ).status,
    ).toBe(401);
  });

  it('pages the login history, filters by device, and a device filter scans one partition', async () => {
    const u = await registerAndLogin(UA.chrome);
    for (const ua of [UA.iphone, UA.iphone, UA.tv, UA.ipad, 'curl/8.5.0']) {
      await request(s.app)
        .post('/api/v1/auth/login')
        .set('User-Agent', ua)
        .send({ email: u.email, password });
    }
    await request(s.app)
      .post('/api/v1/auth/login')
      .set('User-Agent', UA.iphone)
      .send({ email: u.email, password: 'wrong password!' });
    const auth = { Authorization: `Bearer ${u.tokens.accessToken}` };
    const p1 = await request(s.app).get('/api/v1/auth/login-history?pageSize=3').set(auth);
    expect(p1.status).toBe(200);
    expect(p1.body).toMatchObject({ page: 1, pageSize: 3, total: 7 });
    expect(p1.body.items).toHaveLength(3);
    expect(p1.body.items[0]).toMatchObject({ deviceType: 'mobile', success: false });
    const p3 = await request(s.app).get('/api/v1/auth/login-history?pageSize=3&page=3').set(auth);
    expect(p3.body.items).toHaveLength(1);
    const ids = new Set([...p1.body.items, ...p3.body.items].map((i: { id: string }) => i.id));
    expect(ids.size).toBe(4);
    const mobile = await request(s.app)
      .get('/api/v1/auth/login-history?deviceType=mobile')
      .set(auth);
    expect(mobile.body.total).toBe(3);
    expect(mobile.body.items.every((i: { deviceType: string }) => i.deviceType === 'mobile')).toBe(
      true,
    );
    const counts: Record<string, number> = {};
    for (const t of ['web', 'smart_tv', 'tablet', 'other']) {
      const r = await request(s.app).get(`/api/v1/auth/login-history?deviceType=${t}`).set(auth);
      counts[t] = r.body.total;
    }
    expect(counts).toEqual({ web: 1, smart_tv: 1, tablet: 1, other: 1 });

    for (const bad of ['page=0', 'pageSize=1000', 'deviceType=toaster', 'page=abc']) {
      const r = await request(s.app).get(`/api/v1/auth/login-history?${bad}`).set(auth);
      expect(r.status).toBe(422);
      expect(r.headers['content-type']).toMatch(/problem\+json/);
    }

    // The rows really live in their partitions, and the planner prunes the others.
    const parts = await s.c.pool.query(
      `SELECT tableoid::regclass::text AS part, count(*)::int AS n FROM login_history
       WHERE user_id = $1 GROUP BY 1 ORDER BY 1`,
      [u.id],
    );
    expect(parts.rows.map((r) => r.part)).toEqual([
      'login_history_mobile',
      'login_history_other',
      'login_history_smart_tv',
      'login_history_tablet',
      'login_history_web',
    ]);
    const q = historyQuery(u.id, { page: 1, pageSize: 20, deviceType: 'mobile' });
    const client = await s.c.pool.connect();
    try {
      // A generic plan (parameters unknown at plan time) still prunes, at execution.
      const plan = await client.query(`EXPLAIN (ANALYZE, COSTS OFF) ${q.text}`, q.values);
      const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      const tablesIn = (plan: string) =>
        new Set(
          [...plan.matchAll(/ on (login_history_\w+)/g)]
            .map((m) => m[1])
            .filter((n) => !n!.endsWith('_idx')),
        );
      const scanned = tablesIn(text);
      expect(scanned).toEqual(new Set(['login_history_mobile']));
      const all = historyQuery(u.id, { page: 1, pageSize: 20 });
      const planAll = await client.query(`EXPLAIN (COSTS OFF) ${all.text}`, all.values);
      const allText = planAll.rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(tablesIn(allText)).toEqual(
        new Set([
          'login_history_web',
          'login_history_mobile',
          'login_history_smart_tv',
          'login_history_tablet',
          'login_history_other',
        ]),
      );
    } finally {
      client.release();
    }
  });

  it('resets a password with a single-use token from the mail, and ends every session', async () => {
    const u = await registerAndLogin();
    const unknown = await request(s.app)
      .post('/api/v1/auth/password-reset/request')
      .send({ email: `nobody-${suffix()}@example.com` });
    expect(unknown.status).toBe(202);
    const req = await request(s.app)
      .post('/api/v1/auth/password-reset/request')
      .send({ email: u.email });
    expect(req.status).toBe(202);
    const ev = await s.c.pool.query(
      `SELECT payload FROM outbox WHERE routing_key = 'user.password_reset_requested'
       AND payload->>'email' = $1`,
      [u.email],
    );
    expect(ev.rows).toHaveLength(1);
    // The token reaches the user by mail (the outbox keeps it only until the broker has it).
    const mail = await mailTo(u.email, /reset your password/i);
    expect(mail.text).toContain(`${s.config.ACCOUNT_LINKS_BASE_URL}/reset-password#token=`);
    const token = tokenIn(mail);
    expect(token.length).toBeGreaterThan(30);
    const stored = await s.c.pool.query(
      `SELECT count(*)::int AS n FROM password_reset_tokens
      WHERE token_hash = sha256(convert_to($1, 'UTF8'))`,
      [token],
    );
    expect(stored.rows[0].n).toBe(1); // stored hashed, not as given

    const bad = await request(s.app)
      .post('/api/v1/auth/password-reset/confirm')
      .send({ token: 'x'.repeat(43), newPassword: 'another good secret' });
    expect(bad.status).toBe(400);
    const ok = await request(s.app)
      .post('/api/v1/auth/password-reset/confirm')
      .send({ token, newPassword: 'another good secret' });
    expect(ok.status).toBe(204);
    const reuse = await request(s.app)
      .post('/api/v1/auth/password-reset/confirm')
      .send({ token, newPassword: 'yet another secret' });
    expect(reuse.status).toBe(400);
    expect(
      (
        await request(s.app)
          .get('/api/v1/auth/me')
          .set('Authorization', `Bearer ${u.tokens.accessToken}`)
      ).status,
    ).toBe(401);
    expect(
      (
        await request(s.app)
          .post('/api/v1/auth/login')
          .send({ email: u.email, password: 'another good secret' })
      ).status,
    ).toBe(200);

    // Expired tokens are refused too.
    await s.c.pool.query(
      `UPDATE password_reset_tokens SET used_at = NULL, expires_at = now() - interval '1 second'`,
    );
    const expired = await request(s.app)
      .post('/api/v1/auth/password-reset/confirm')
      .send({ token, newPassword: 'yet another secret' });
    expect(expired.status).toBe(400);
  });

  it('answers CORS preflights on login for configured origins only', async () => {
    const ok = await request(s.app)
      .options('/api/v1/auth/login')
      .set('Origin', 'https://admin.cinema.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(ok.status).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('https://admin.cinema.example');
    const no = await request(s.app)
      .options('/api/v1/auth/login')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(no.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers bad input on every endpoint with 4xx problem+json, never 500', async () => {
    const u = await registerAndLogin();
    const auth = { Authorization: `Bearer ${u.tokens.accessToken}` };
    const cases: Array<[string, string, unknown, Record<string, string>?]> = [
      ['post', '/api/v1/auth/register', { email: 'not-an-email', password }],
      ['post', '/api/v1/auth/register', { email: email(), password: 'short' }],
      ['post', '/api/v1/auth/register', { email: email(), password, admin: true }],
      ['post', '/api/v1/auth/register', { email: email(), password: 12345678901 }],
      ['post', '/api/v1/auth/register', 'just text'],
      ['post', '/api/v1/auth/login', {}],
      ['post', '/api/v1/auth/login', { email: ['a@b.c'], password }],
      ['post', '/api/v1/auth/login', { email: `${'a'.repeat(300)}@x.io`, password }],
      ['post', '/api/v1/auth/refresh', { refreshToken: 42 }],
      ['post', '/api/v1/auth/refresh', { refreshToken: 'z'.repeat(43) }],
      ['post', '/api/v1/auth/password-reset/request', { email: null }],
      ['post', '/api/v1/auth/password-reset/confirm', { token: 'short', newPassword: password }],
      ['patch', '/api/v1/auth/me', { email: 'nope' }, auth],
      ['patch', '/api/v1/auth/me', { roles: ['admin'] }, auth],
      ['put', '/api/v1/auth/password', { newPassword: password }, auth],
      ['post', '/api/v1/auth/me/email', { newEmail: 'nope', currentPassword: password }, auth],
      ['post', '/api/v1/auth/me/email', { newEmail: ['a@b.c'] }, auth],
      ['post', '/api/v1/auth/me/email', { newEmail: email() }],
      ['post', '/api/v1/auth/email/verify', { token: 5 }],
      ['post', '/api/v1/auth/email/verify', { token: 'x'.repeat(43) }],
      ['post', '/api/v1/auth/email/change/confirm', {}],
      ['post', '/api/v1/auth/email/change/confirm', { token: 'y'.repeat(43), extra: 1 }],
      ['delete', '/api/v1/auth/sessions/%27%3B--', undefined, auth],
      ['get', '/api/v1/auth/me', undefined, { Authorization: 'Bearer abc.def.ghi' }],
      ['get', '/api/v1/auth/me', undefined, { Authorization: 'Basic Zm9vOmJhcg==' }],
      ['post', '/api/v1/auth/logout', undefined, { Authorization: 'Bearer ' + 'x'.repeat(5000) }],
      ['get', '/api/v1/auth/roles', undefined, auth],
      ['get', '/auth/oauth/google/start', undefined],
      ['get', '/auth/oauth/google/callback?code=x&state=y', undefined],
    ];
    for (const [method, path, body, headers] of cases) {
      let r = (request(s.app) as unknown as Record<string, (p: string) => request.Test>)[method]!(
        path,
      );
      if (headers) r = r.set(headers);
      if (typeof body === 'string') r = r.set('content-type', 'application/json').send(body);
      else if (body !== undefined) r = r.send(body as object);
      const res = await r;
      expect([method, path, res.status]).toEqual([method, path, expect.any(Number)]);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
  });

  it('serves the OpenAPI spec and Swagger UI', async () => {
    const spec = await request(s.app).get('/openapi.json');
    expect(spec.status).toBe(200);
    for (const p of [
      '/api/v1/auth/register',
      '/api/v1/auth/login',
      '/api/v1/auth/refresh',
      '/api/v1/auth/logout',
      '/api/v1/auth/logout-all',
      '/api/v1/auth/me',
      '/api/v1/auth/password',
      '/api/v1/auth/password-reset/request',
      '/api/v1/auth/password-reset/confirm',
      '/api/v1/auth/me/email',
      '/api/v1/auth/me/email/verification',
      '/api/v1/auth/email/verify',
      '/api/v1/auth/email/change/confirm',
      '/api/v1/auth/sessions',
      '/api/v1/auth/login-history',
      '/api/v1/auth/roles',
      '/api/v1/auth/users/{userId}/roles',
      '/.well-known/jwks.json',
      '/auth/oauth/google/start',
      '/auth/oauth/google/callback',
    ]) {
      expect(spec.body.paths[p]).toBeDefined();
    }
    const ui = await request(s.app).get('/docs/');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
  });
});
