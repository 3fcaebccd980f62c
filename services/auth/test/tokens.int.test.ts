import { createHmac, createPublicKey } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPair, importPKCS8, SignJWT } from 'jose';
import request from 'supertest';
import { createTokenVerifier, type TokenVerifier } from '@cinema/auth';
import { dropSchema, startService, suffix, type TestService } from './helpers';

let s: TestService;
let server: Server;
let baseUrl: string;
const password = 'correct horse battery';

beforeAll(async () => {
  s = await startService({ REFRESH_REUSE_GRACE_SECONDS: '2' });
  server = s.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await s.close();
  await dropSchema(s.schema);
});

async function login() {
  const email = `tok-${suffix()}@example.com`;
  await request(s.app).post('/api/v1/auth/register').send({ email, password }).expect(201);
  const res = await request(s.app).post('/api/v1/auth/login').send({ email, password }).expect(200);
  return res.body as { accessToken: string; refreshToken: string };
}

const refresh = (refreshToken: string) =>
  request(s.app).post('/api/v1/auth/refresh').send({ refreshToken });
const me = (token: string) =>
  request(s.app).get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`);

describe('refresh tokens', () => {
  it('rotate on every use and are stored hashed', async () => {
    const t0 = await login();
    const r1 = await refresh(t0.refreshToken);
    expect(r1.status).toBe(200);
    expect(r1.body.refreshToken).not.toBe(t0.refreshToken);
    expect((await me(r1.body.accessToken)).status).toBe(200);
    const r2 = await refresh(r1.body.refreshToken);
    expect(r2.status).toBe(200);
    const plain = await s.c.pool.query(
      `SELECT count(*)::int AS n FROM refresh_tokens WHERE token_hash = convert_to($1, 'UTF8')`,
      [r2.body.refreshToken],
    );
    expect(plain.rows[0].n).toBe(0);
    const hashed = await s.c.pool.query(
      `SELECT count(*)::int AS n FROM refresh_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))`,
      [r2.body.refreshToken],
    );
    expect(hashed.rows[0].n).toBe(1);
  });

  it('accept a just-rotated token within the grace window (two tabs), same session', async () => {
    const t0 = await login();
    const [a, b] = await Promise.all([refresh(t0.refreshToken), refresh(t0.refreshToken)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const sid = (t: string) =>
      JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()).sid;
    expect(sid(a.body.accessToken)).toBe(sid(b.body.accessToken));
    expect((await refresh(a.body.refreshToken)).status).toBe(200);
    expect((await refresh(b.body.refreshToken)).status).toBe(200);
  });

  it('revoke the whole family when an old token is reused after the grace window', async () => {
    const t0 = await login();
    const r1 = await refresh(t0.refreshToken);
    const r2 = await refresh(r1.body.refreshToken);
    expect(r2.status).toBe(200);
    await new Promise((r) => setTimeout(r, 2200));
    const stolen = await refresh(t0.refreshToken);
    expect(stolen.status).toBe(401);
    expect(stolen.body.detail).toMatch(/reuse/);
    // Every member of the family is dead now, and so are its access tokens here.
    expect((await refresh(r2.body.refreshToken)).status).toBe(401);
    expect((await me(r2.body.accessToken)).status).toBe(401);
    // Other sessions are untouched.
    const other = await login();
    expect((await refresh(other.refreshToken)).status).toBe(200);
  });

  it('refuse unknown and expired tokens', async () => {
    expect((await refresh('A'.repeat(43))).status).toBe(401);
    const t = await login();
    await s.c.pool.query(
      `UPDATE refresh_tokens SET expires_at = now() - interval '1 second'
      WHERE token_hash = sha256(convert_to($1, 'UTF8'))`,
      [t.refreshToken],
    );
    expect((await refresh(t.refreshToken)).status).toBe(401);
  });
});

describe('access tokens', () => {
  let verifier: TokenVerifier;
  let valid: string;
  let privateKey: Awaited<ReturnType<typeof importPKCS8>>;
  let kid: string;

  beforeAll(async () => {
    valid = (await login()).accessToken;
    // Another service's view: the JWKS over HTTP, verified with @cinema/auth.
    verifier = createTokenVerifier({
      jwksUrl: `${baseUrl}/.well-known/jwks.json`,
      issuer: 'cinema-auth',
      audience: 'cinema',
    });
    const row = await s.c.pool.query(
      `SELECT kid, private_key FROM signing_keys WHERE retired_at IS NULL`,
    );
    kid = row.rows[0].kid;
    privateKey = await importPKCS8(row.rows[0].private_key, 'RS256');
  });

  const signWith = (
    claims: Record<string, unknown>,
    opts: { exp?: number | string; aud?: string; iss?: string } = {},
  ) =>
    new SignJWT({
      roles: ['super_user'],
      sid: '00000000-0000-4000-8000-000000000000',
      typ: 'access',
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setSubject('00000000-0000-4000-8000-000000000001')
      .setIssuer(opts.iss ?? 'cinema-auth')
      .setAudience(opts.aud ?? 'cinema')
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? '5m')
      .sign(privateKey);

  it('publishes the JWKS with kid and verifies locally in other services', async () => {
    const jwks = await request(s.app).get('/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys[0]).toMatchObject({ kid, kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(jwks.body.keys[0].d).toBeUndefined();
    const p = await verifier(valid);
    expect(p.roles).toEqual(['public_user']);
    expect(p.sessionId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('rejects alg none, HS256 with the public key, expired, wrong audience/issuer, tampered, foreign key', async () => {
    const [h, p] = valid.split('.') as [string, string, string];
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());

    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${p}.`;
    const jwk = (await request(s.app).get('/.well-known/jwks.json')).body.keys[0];
    const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    });
    const hsHeader = b64({ alg: 'HS256', typ: 'JWT', kid });
    const hsBody = b64({ ...payload, roles: ['super_user'] });
    const hs = `${hsHeader}.${hsBody}.${createHmac('sha256', pem).update(`${hsHeader}.${hsBody}`).digest('base64url')}`;
    const tampered = `${h}.${b64({ ...payload, roles: ['super_user'] })}.${valid.split('.')[2]}`;
    const expired = await signWith({}, { exp: Math.floor(Date.now() / 1000) - 60 });
    const wrongAud = await signWith({}, { aud: 'another-app' });
    const wrongIss = await signWith({}, { iss: 'evil' });
    const notAccess = await signWith({ typ: 'refresh' });
    const foreign = await (async () => {
      const { privateKey: other } = await generateKeyPair('RS256');
      return new SignJWT({ roles: ['super_user'], typ: 'access', sid: payload.sid })
        .setProtectedHeader({ alg: 'RS256', kid })
        .setSubject(payload.sub)
        .setIssuer('cinema-auth')
        .setAudience('cinema')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(other);
    })();

    const attacks = { none, hs, tampered, expired, wrongAud, wrongIss, notAccess, foreign };
    for (const [name, token] of Object.entries(attacks)) {
      await expect(verifier(token)).rejects.toMatchObject({ status: 401 });
      const res = await me(token);
      expect([name, res.status]).toEqual([name, 401]);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      const admin = await request(s.app)
        .get('/api/v1/auth/roles')
        .set('Authorization', `Bearer ${token}`);
      expect([name, admin.status]).toEqual([name, 401]);
    }
    // The genuine token still passes.
    expect((await me(valid)).status).toBe(200);
  });

  it('rotates keys: the JWKS lists current and previous, old tokens keep verifying', async () => {
    const before = valid;
    const newKid = await s.c.keys.rotate();
    expect(newKid).not.toBe(kid);
    const jwks = await request(s.app).get('/.well-known/jwks.json');
    expect(jwks.body.keys.map((k: { kid: string }) => k.kid).sort()).toEqual([kid, newKid].sort());
    const fresh = (await login()).accessToken;
    expect(JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid).toBe(newKid);
    const remote = createTokenVerifier({
      jwksUrl: `${baseUrl}/.well-known/jwks.json`,
      issuer: 'cinema-auth',
      audience: 'cinema',
    });
    await expect(remote(before)).resolves.toMatchObject({ roles: ['public_user'] });
    await expect(remote(fresh)).resolves.toMatchObject({ roles: ['public_user'] });
    expect((await me(before)).status).toBe(200);
    expect((await me(fresh)).status).toBe(200);
  });
});
