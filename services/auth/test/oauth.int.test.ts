/**
 * OAuth login end to end against a real OpenID provider (oidc-provider from npm, in a child
 * process on loopback) standing in for Google: start -> provider login and consent ->
 * callback -> tokens, account linking by verified e-mail, and the refusals.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import request from 'supertest';
import { freePort } from '@cinema/testing';
import { dropSchema, startService, suffix, type TestService } from './helpers';
import { deleteMailsTo, mailTo, mailsTo, tokenIn } from './mail';

let s: TestService;
let provider: ChildProcess;
let issuer: string;
const callback = 'http://127.0.0.1:8001/auth/oauth/google/callback';
const password = 'correct horse battery';

beforeAll(async () => {
  const port = await freePort();
  provider = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'oidc-provider.mjs')], {
    env: {
      ...process.env,
      PORT: String(port),
      CLIENT_ID: 'cinema-auth',
      CLIENT_SECRET: 'provider-secret-for-tests',
      REDIRECT_URI: callback,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  provider.stderr!.on('data', (d) => (err += d));
  issuer = await new Promise<string>((resolve, reject) => {
    provider.stdout!.on('data', (d: Buffer) => {
      const m = /READY (\S+)/.exec(d.toString());
      if (m) resolve(m[1]!);
    });
    provider.once('exit', (code) => reject(new Error(`provider exited ${code}: ${err}`)));
  });
  s = await startService({
    OAUTH_GOOGLE_CLIENT_ID: 'cinema-auth',
    OAUTH_GOOGLE_CLIENT_SECRET: 'provider-secret-for-tests',
    OAUTH_GOOGLE_ISSUER: issuer,
    OAUTH_GOOGLE_AUTHORIZATION_URL: `${issuer}/auth`,
    OAUTH_GOOGLE_TOKEN_URL: `${issuer}/token`,
    OAUTH_GOOGLE_USERINFO_URL: `${issuer}/me`,
    OAUTH_GOOGLE_JWKS_URL: `${issuer}/jwks`,
    OAUTH_GOOGLE_CALLBACK_URL: callback,
    OAUTH_SUCCESS_REDIRECT_URL: 'https://cinema.example/signed-in',
  });
});
const used: string[] = [];
afterAll(async () => {
  provider?.kill('SIGTERM');
  await s?.close();
  if (s) await dropSchema(s.schema);
  await deleteMailsTo(...used);
});

/** A browser: cookie jar per origin, manual redirects. */
class Browser {
  private jar = new Map<string, Map<string, string>>();
  private cookies(url: URL) {
    return [...(this.jar.get(url.host) ?? new Map()).entries()]
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
  }
  keep(url: URL, setCookie: string[] | string | undefined) {
    const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
    const jar = this.jar.get(url.host) ?? new Map<string, string>();
    for (const c of list) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const value = pair!.slice(i + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) jar.delete(pair!.slice(0, i));
      else jar.set(pair!.slice(0, i), value);
    }
    this.jar.set(url.host, jar);
  }
  async provider(url: string, body?: URLSearchParams): Promise<string> {
    const u = new URL(url);
    const res = await fetch(u, {
      method: body ? 'POST' : 'GET',
      body,
      redirect: 'manual',
      headers: { cookie: this.cookies(u) },
    });
    this.keep(u, res.headers.getSetCookie());
    if (res.status >= 300 && res.status < 400)
      return new URL(res.headers.get('location')!, u).toString();
    const text = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(text);
    if (!action) throw new Error(`provider answered ${res.status}: ${text.slice(0, 300)}`);
    return new URL(action[1]!, u).toString() + '#form';
  }
  /** From start to the callback URL the provider sends the browser to. */
  async throughProvider(login: string): Promise<{ callbackUrl: string; stateCookie: string }> {
    const start = await request(s.app).get('/auth/oauth/google/start');
    expect(start.status).toBe(302);
    const serviceUrl = new URL(callback);
    this.keep(serviceUrl, start.headers['set-cookie']);
    let next = start.headers.location as string;
    expect(next.startsWith(`${issuer}/auth?`)).toBe(true);
    expect(new URL(next).searchParams.get('nonce')).toBeTruthy();
    for (let hops = 0; hops < 12; hops++) {
      if (next.startsWith(callback)) {
        return { callbackUrl: next, stateCookie: this.cookies(serviceUrl) };
      }
      if (next.endsWith('#form')) {
        const url = next.slice(0, -5);
        const page = await fetch(url.replace(/\/(login|confirm|continue)$/, ''), {
          headers: { cookie: this.cookies(new URL(url)) },
        });
        const html = await page.text();
        const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1] ?? 'login';
        const form = new URLSearchParams({ prompt });
        if (prompt === 'login') {
          form.set('login', login);
          form.set('password', 'anything');
        }
        next = await this.provider(url, form);
      } else next = await this.provider(next);
    }
    throw new Error('too many redirects');
  }
}

async function oauthLogin(login: string, accept?: string) {
  const b = new Browser();
  const { callbackUrl, stateCookie } = await b.throughProvider(login);
  const u = new URL(callbackUrl);
  const r = request(s.app).get(`${u.pathname}${u.search}`).set('Cookie', stateCookie);
  return accept ? r.set('Accept', accept) : r;
}

describe('OAuth login with an OpenID provider standing in for Google', () => {
  it('creates an account from a verified e-mail and answers tokens as for a password login', async () => {
    const email = `oa-${suffix()}@example.com`;
    const res = await oauthLogin(email);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    const me = await request(s.app)
      .get('/api/v1/auth/me')
      .set('Authorization', `Bearer ${res.body.accessToken}`);
    expect(me.body).toMatchObject({ email, roles: ['public_user'], firstName: 'Goo' });
    const refreshed = await request(s.app)
      .post('/api/v1/auth/refresh')
      .send({ refreshToken: res.body.refreshToken });
    expect(refreshed.status).toBe(200);
    const ev = await s.c.pool.query(
      `SELECT payload FROM outbox WHERE routing_key = 'user.registered' AND payload->>'email' = $1`,
      [email],
    );
    expect(ev.rows[0].payload.method).toBe('google');
    const sessions = await request(s.app)
      .get('/api/v1/auth/sessions')
      .set('Authorization', `Bearer ${refreshed.body.accessToken}`);
    expect(sessions.body[0].method).toBe('google');

    // The second login finds the same account through the link.
    const again = await oauthLogin(email);
    const me2 = await request(s.app)
      .get('/api/v1/auth/me')
      .set('Authorization', `Bearer ${again.body.accessToken}`);
    expect(me2.body.id).toBe(me.body.id);
  });

  it('sends a browser to OAUTH_SUCCESS_REDIRECT_URL with the tokens in the fragment', async () => {
    const email = `browser-${suffix()}@example.com`;
    const res = await oauthLogin(email, 'text/html,application/xhtml+xml,*/*;q=0.8');
    expect(res.status).toBe(302);
    expect(res.headers['cache-control']).toBe('no-store');
    const location = new URL(res.headers.location!);
    expect(`${location.origin}${location.pathname}`).toBe('https://cinema.example/signed-in');
    expect(location.search).toBe('');
    const fragment = new URLSearchParams(location.hash.slice(1));
    expect(fragment.get('token_type')).toBe('Bearer');
    expect(fragment.get('expires_in')).toBe('900');
    const me = await request(s.app)
      .get('/api/v1/auth/me')
      .set('Authorization', `Bearer ${fragment.get('access_token')}`);
    expect(me.body).toMatchObject({ email });
    const refreshed = await request(s.app)
      .post('/api/v1/auth/refresh')
      .send({ refreshToken: fragment.get('refresh_token') });
    expect(refreshed.status).toBe(200);
    // The tokens never reach the logs (the fragment is only in the Location header).
    expect(s.logs.join('')).not.toContain(fragment.get('refresh_token')!);
    // An API client asking for JSON still gets JSON.
    const api = await oauthLogin(email, 'application/json');
    expect(api.status).toBe(200);
    expect(api.body.tokenType).toBe('Bearer');
  });

  it('links an existing password account by verified e-mail', async () => {
    const email = `link-${suffix()}@example.com`;
    used.push(email);
    const reg = await request(s.app).post('/api/v1/auth/register').send({ email, password });
    // The local address is verified first (see the next test).
    const token = tokenIn(await mailTo(email, /confirm your e-mail address/i));
    await request(s.app).post('/api/v1/auth/email/verify').send({ token }).expect(204);
    const res = await oauthLogin(email);
    expect(res.status).toBe(200);
    const me = await request(s.app)
      .get('/api/v1/auth/me')
      .set('Authorization', `Bearer ${res.body.accessToken}`);
    expect(me.body.id).toBe(reg.body.id);
    const linked = await s.c.pool.query(`SELECT provider FROM social_accounts WHERE user_id = $1`, [
      reg.body.id,
    ]);
    expect(linked.rows).toEqual([{ provider: 'google' }]);
    expect((await request(s.app).post('/api/v1/auth/login').send({ email, password })).status).toBe(
      200,
    );
  });

  it('does not link a local account whose address is unverified (pre-hijack), and says why (item 6)', async () => {
    // The attacker registers the victim's address first and keeps a session.
    const email = `prehijack-${suffix()}@example.com`;
    used.push(email);
    const reg = await request(s.app)
      .post('/api/v1/auth/register')
      .send({ email, password: 'the attacker secret' });
    expect(reg.status).toBe(201);
    const attacker = await request(s.app)
      .post('/api/v1/auth/login')
      .send({ email, password: 'the attacker secret' });
    expect(attacker.status).toBe(200);

    // The victim signs in with Google: refused, with a clear message, and nothing linked.
    const victim = await oauthLogin(email);
    expect(victim.status).toBe(403);
    expect(victim.headers['content-type']).toMatch(/problem\+json/);
    expect(victim.body.detail).toMatch(/not verified/);
    expect(victim.body.detail).toMatch(/reset the password/);
    expect(victim.body.accessToken).toBeUndefined();
    const links = await s.c.pool.query(`SELECT 1 FROM social_accounts WHERE user_id = $1`, [
      reg.body.id,
    ]);
    expect(links.rowCount).toBe(0);

    // The mailbox's owner takes the account back with a reset (it proves the address and
    // ends the attacker's session); Google login then links.
    await request(s.app).post('/api/v1/auth/password-reset/request').send({ email }).expect(202);
    const reset = tokenIn(await mailTo(email, /reset your password/i));
    await request(s.app)
      .post('/api/v1/auth/password-reset/confirm')
      .send({ token: reset, newPassword: 'the owner secret!' })
      .expect(204);
    expect(
      (
        await request(s.app)
          .post('/api/v1/auth/refresh')
          .send({ refreshToken: attacker.body.refreshToken })
      ).status,
    ).toBe(401);
    const linked = await oauthLogin(email);
    expect(linked.status).toBe(200);
    const me = await request(s.app)
      .get('/api/v1/auth/me')
      .set('Authorization', `Bearer ${linked.body.accessToken}`);
    expect(me.body).toMatchObject({ id: reg.body.id, emailVerified: true });
  });

  it('an account without a password changes its address only right after a login (item 2)', async () => {
    const email = `oa-change-${suffix()}@example.com`;
    const next = `oa-next-${suffix()}@example.com`;
    used.push(email, next);
    const res = await oauthLogin(email);
    expect(res.status).toBe(200);
    const auth = { Authorization: `Bearer ${res.body.accessToken}` };
    const me = await request(s.app).get('/api/v1/auth/me').set(auth);
    expect(me.body.emailVerified).toBe(true); // vouched for by the provider
    // A login long ago (a stolen, refreshed token): refused.
    await s.c.pool.query(
      `UPDATE sessions SET created_at = now() - interval '1 hour' WHERE user_id = $1`,
      [me.body.id],
    );
    const stale = await request(s.app)
      .post('/api/v1/auth/me/email')
      .set(auth)
      .send({ newEmail: next });
    expect(stale.status).toBe(403);
    expect(stale.body.detail).toMatch(/log in again/);
    // Right after a login: pending until the new address confirms.
    const fresh = await oauthLogin(email);
    const asked = await request(s.app)
      .post('/api/v1/auth/me/email')
      .set('Authorization', `Bearer ${fresh.body.accessToken}`)
      .send({ newEmail: next });
    expect(asked.status).toBe(202);
    const token = tokenIn(await mailTo(next, /confirm your new/i));
    await mailTo(email, /being changed/i);
    await request(s.app).post('/api/v1/auth/email/change/confirm').send({ token }).expect(204);
    expect((await request(s.app).get('/api/v1/auth/me').set(auth)).body.email).toBe(next);
    expect(await mailsTo(email)).toHaveLength(1);
  });

  it('refuses an unverified e-mail, a forged or replayed state, and a provider refusal', async () => {
    const email = `unv-${suffix()}@example.com`;
    const reg = await request(s.app).post('/api/v1/auth/register').send({ email, password });
    expect(reg.status).toBe(201);
    const unverified = await oauthLogin(`unverified:${email}`);
    expect(unverified.status).toBe(403);
    expect(unverified.headers['content-type']).toMatch(/problem\+json/);
    const links = await s.c.pool.query(`SELECT 1 FROM social_accounts WHERE user_id = $1`, [
      reg.body.id,
    ]);
    expect(links.rowCount).toBe(0);

    // The callback in another browser (no state cookie): login CSRF refused.
    const b = new Browser();
    const { callbackUrl, stateCookie } = await b.throughProvider(`csrf-${suffix()}@example.com`);
    const u = new URL(callbackUrl);
    const noCookie = await request(s.app).get(`${u.pathname}${u.search}`);
    expect(noCookie.status).toBe(401);
    // The refused attempt did not burn the state: the real browser completes, once.
    const first = await request(s.app).get(`${u.pathname}${u.search}`).set('Cookie', stateCookie);
    expect(first.status).toBe(200);
    const replay = await request(s.app).get(`${u.pathname}${u.search}`).set('Cookie', stateCookie);
    expect(replay.status).toBe(401);
    const denied = await request(s.app).get(
      '/auth/oauth/google/callback?error=access_denied&state=abc',
    );
    expect(denied.status).toBe(403);
    expect((await request(s.app).get('/auth/oauth/google/callback')).status).toBe(400);
  });
});
