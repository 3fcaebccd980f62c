import cookieParser from 'cookie-parser';
import express from 'express';
import request from 'supertest';
import { ServiceUnavailableError, UnauthorizedError } from '@cinema/errors';
import { createLogger } from '@cinema/logging';
import type { AuthClient } from './client';
import type { Principal, TokenVerifier } from './index';
import { panelSession, type PanelSessionOptions } from './panel-session';

/** Tokens are `tok:<roles>:<generation>`; `expired:*` fails verification as expired. */
const verifier = (async (token: string): Promise<Principal> => {
  const m = /^tok:([\w,]*):(\d+)$/.exec(token);
  if (!m) throw new UnauthorizedError('invalid or expired token');
  return { id: 'u1', email: 'a@test', roles: m[1] ? m[1].split(',') : [], claims: {} };
}) as TokenVerifier;

function setup(extra: Partial<PanelSessionOptions> = {}) {
  const calls: string[] = [];
  const auth: AuthClient = {
    login: async (email, password) => {
      calls.push(`login ${email}`);
      if (password !== 'right') throw new UnauthorizedError('wrong e-mail or password');
      const roles = email.startsWith('admin') ? 'admin' : 'public_user';
      return { accessToken: `tok:${roles}:1`, refreshToken: `refresh:${roles}` };
    },
    refresh: async (token) => {
      calls.push(`refresh ${token}`);
      if (!token.startsWith('refresh:')) throw new UnauthorizedError('refresh refused');
      return { accessToken: `tok:${token.slice(8)}:2`, refreshToken: token };
    },
    logout: async (token) => {
      calls.push(`logout ${token}`);
      if (token.includes('down')) throw new ServiceUnavailableError('auth is down');
    },
  };
  const session = panelSession({
    prefix: '/p',
    cookies: { access: 'p_a', refresh: 'p_r', csrf: 'p_c' },
    home: '/p/home',
    name: 'test panel',
    verifier,
    auth,
    logger: createLogger({ service: 'panel-test', level: 'silent' }),
    secureCookies: false,
    pages: {
      login: (_req, res, s) =>
        `<form csrf="${res.locals.csrf}" next="${s.next}" error="${s.error ?? ''}">`,
      message: (_req, _res, title, text) => `<h1>${title}</h1><p>${text}</p>`,
    },
    ...extra,
  });
  const app = express();
  app.use(cookieParser());
  app.use(express.urlencoded({ extended: false }));
  const router = express.Router();
  router.use(session.csrf, session.routes, session.requireRole);
  router.get('/home', (_req, res) => res.send(`hello ${res.locals.principal.id}`));
  router.post('/act', (_req, res) => res.send('done'));
  app.use('/p', router);
  return { app, calls, session };
}

async function csrfOf(agent: ReturnType<typeof request.agent>): Promise<string> {
  const page = await agent.get('/p/login');
  return /csrf="([^"]+)"/.exec(page.text)![1]!;
}

describe('panelSession', () => {
  it('sends strangers to the login page with the page they wanted', async () => {
    const { app } = setup();
    const res = await request(app).get('/p/home?x=1');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/p/login?next=%2Fp%2Fhome%3Fx%3D1');
  });

  it('logs an admin in: httpOnly, Strict, Secure cookies scoped to the page; then lets them in', async () => {
    const { app } = setup();
    const agent = request.agent(app);
    const csrf = await csrfOf(agent);
    const login = await agent
      .post('/p/login')
      .type('form')
      .send({ _csrf: csrf, email: 'admin@test', password: 'right', next: '/p/home' });
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/p/home');
    const cookies = ([] as string[]).concat(login.headers['set-cookie'] ?? []);
    const access = cookies.find((c) => c.startsWith('p_a='))!;
    expect(access).toMatch(/HttpOnly/);
    expect(access).toMatch(/SameSite=Strict/);
    expect(access).toMatch(/Path=\/p/);
    expect((await agent.get('/p/home')).text).toBe('hello u1');
  });

  it('refuses a POST without the CSRF token, or with another one', async () => {
    const { app, calls } = setup();
    const agent = request.agent(app);
    await csrfOf(agent);
    const none = await agent
      .post('/p/login')
      .type('form')
      .send({ email: 'admin@test', password: 'right' });
    expect(none.status).toBe(403);
    const forged = await agent
      .post('/p/login')
      .type('form')
      .send({ _csrf: 'x'.repeat(43), email: 'admin@test', password: 'right' });
    expect(forged.status).toBe(403);
    expect(calls).toEqual([]); // auth never asked
  });

  it('follows only paths of this page after login (no open redirect)', async () => {
    const { session } = setup();
    for (const evil of [
      'https://evil.test/p',
      '//evil.test/p',
      '/p//evil.test',
      '/pother',
      '/other',
      '/p/../admin',
      '/p/%2E%2E/admin',
      '/p/./x/..',
      'javascript:alert(1)',
      undefined,
      ['/p/home'],
    ])
      expect(session.safeNext(evil)).toBe('/p/home');
    expect(session.safeNext('/p/films?page=2')).toBe('/p/films?page=2');
    expect(session.safeNext('/p')).toBe('/p');
  });

  it('refuses users without the role (403, no cookies) and wrong passwords (401)', async () => {
    const { app } = setup();
    const agent = request.agent(app);
    const csrf = await csrfOf(agent);
    const viewer = await agent
      .post('/p/login')
      .type('form')
      .send({ _csrf: csrf, email: 'viewer@test', password: 'right' });
    expect(viewer.status).toBe(403);
    expect(viewer.text).toContain('neither the admin nor the super_user role');
    expect(
      ([] as string[]).concat(viewer.headers['set-cookie'] ?? []).some((c) => c.startsWith('p_a=')),
    ).toBe(false);
    const wrong = await agent
      .post('/p/login')
      .type('form')
      .send({ _csrf: csrf, email: 'admin@test', password: 'wrong' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('wrong e-mail or password');
  });

  it('marks the cookies Secure when asked (behind HTTPS)', async () => {
    const { app } = setup({ secureCookies: true });
    const page = await request(app).get('/p/login');
    expect(([] as string[]).concat(page.headers['set-cookie'] ?? []).join()).toMatch(
      /p_c=[\w-]{43}; Path=\/p; HttpOnly; Secure; SameSite=Strict/,
    );
  });

  it('refreshes an expired access token with the refresh cookie', async () => {
    const { app, calls } = setup();
    const res = await request(app)
      .get('/p/home')
      .set('Cookie', ['p_a=expired:admin', 'p_r=refresh:admin']);
    expect(res.status).toBe(200);
    expect(calls).toEqual(['refresh refresh:admin']);
    expect(([] as string[]).concat(res.headers['set-cookie'] ?? []).join()).toContain(
      'p_a=tok%3Aadmin%3A2',
    );
    // A refused refresh: back to the login page, cookies cleared.
    const gone = await request(app).get('/p/home').set('Cookie', ['p_r=stolen']);
    expect(gone.status).toBe(303);
  });

  it('a signed-in user without the role gets a 403 page', async () => {
    const { app } = setup();
    const res = await request(app).get('/p/home').set('Cookie', ['p_a=tok:public_user:1']);
    expect(res.status).toBe(403);
    expect(res.text).toContain('Forbidden');
  });

  it('logout ends the session at auth and clears the cookies, even when auth is down', async () => {
    const { app, calls } = setup();
    const csrf = 'c'.repeat(43);
    for (const token of ['tok:admin:1', 'tok:down:1']) {
      const res = await request(app)
        .post('/p/logout')
        .set('Cookie', `p_a=${token}; p_c=${csrf}`)
        .type('form')
        .send({ _csrf: csrf });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/p/login');
      expect(([] as string[]).concat(res.headers['set-cookie'] ?? []).join()).toMatch(/p_a=;/);
    }
    expect(calls).toEqual(['logout tok:admin:1', 'logout tok:down:1']);
  });

  it('other roles can be asked for', async () => {
    const { app } = setup({ roles: ['analyst'] });
    expect((await request(app).get('/p/home').set('Cookie', ['p_a=tok:admin:1'])).status).toBe(403);
    expect((await request(app).get('/p/home').set('Cookie', ['p_a=tok:analyst:1'])).status).toBe(
      200,
    );
  });
});
