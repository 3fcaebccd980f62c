/**
 * End to end with the real auth service (its own process, `services/auth/src/main.ts`, mailing
 * nothing itself: AUTH_MAIL=off) on the same RabbitMQ exchange: register -> the welcome mail with
 * a verification link that auth accepts; reset request -> the reset mail whose link sets a new
 * password; a login from a new device -> the security alert by mail and in the inbox, read with
 * auth's own access token.
 */
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { freePort, runServiceMain, type RunningProcess } from '@cinema/testing';
import {
  api,
  deleteMailsTo,
  mailTo,
  startService,
  suffix,
  waitFor,
  type TestService,
} from './helpers';

const AUTH_DIR = path.resolve(__dirname, '../../auth');
const UA = {
  chrome:
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  iphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
};

let auth: RunningProcess;
let authUrl: string;
let svc: TestService;
const authSchema = `auth_n_${suffix()}`;
const email = `flow-${randomUUID().slice(0, 8)}@example.test`;
const password = 'Correct-Horse-Battery-9!';

const tokenIn = (text: string) => {
  const m = /#token=([A-Za-z0-9_%-]+)/.exec(text);
  if (!m) throw new Error(`no link with a token in: ${text}`);
  return decodeURIComponent(m[1]!);
};

beforeAll(async () => {
  const exchange = `auth.events.flow.${suffix()}`;
  const port = await freePort();
  authUrl = `http://127.0.0.1:${port}`;
  auth = runServiceMain(AUTH_DIR, {
    PATH: process.env.PATH,
    DATABASE_URL: process.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL,
    AMQP_URL: process.env.AMQP_URL,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    AUTH_DB_SCHEMA: authSchema,
    AUTH_EVENTS_EXCHANGE: exchange,
    AUTH_MAIL: 'off',
    OUTBOX_POLL_MS: '100',
    RATE_LIMIT_PREFIX: `auth:test:${authSchema}`,
    ARGON2_MEMORY_KIB: '4096',
    ARGON2_TIME_COST: '1',
    ACCOUNT_LINKS_BASE_URL: 'http://127.0.0.1:8080/account',
  });
  svc = await startService({
    AUTH_EVENTS_EXCHANGE: exchange,
    AUTH_URL: authUrl,
    AUTH_JWKS_URL: `${authUrl}/.well-known/jwks.json`,
  });
  await waitFor(
    async () => (await fetch(`${authUrl}/readyz`)).ok,
    60_000,
    `auth to start:\n${auth.output()}`,
  );
});

afterAll(async () => {
  await auth?.stop();
  await svc?.close();
  await deleteMailsTo(email);
  const { createPool } = await import('@cinema/pg');
  const pool = createPool(process.env.DATABASE_URL!, { max: 1 });
  await pool.query(`DROP SCHEMA IF EXISTS "${authSchema}" CASCADE`);
  await pool.end();
});

const post = (p: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${authUrl}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

test('register: the welcome mail arrives with a verification link that auth accepts', async () => {
  const res = await post('/api/v1/auth/register', { email, password, firstName: 'Flo' });
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  const mail = await mailTo(email, /Welcome to Cinema, Flo/, 30_000);
  expect(mail.html).toContain('Confirm my address');
  const verify = await post('/api/v1/auth/email/verify', { token: tokenIn(mail.text) });
  expect(verify.status).toBe(204);
  // auth's user.email_verified reaches the projection.
  await waitFor(async () => (await svc.deps.recipients.get(id))?.emailVerified === true, 15_000);
});

test('password reset: the reset mail, whose link sets a new password', async () => {
  expect((await post('/api/v1/auth/password-reset/request', { email })).status).toBe(202);
  const mail = await mailTo(email, /Reset your Cinema password/, 30_000);
  const res = await post('/api/v1/auth/password-reset/confirm', {
    token: tokenIn(mail.text),
    newPassword: `${password}x`,
  });
  expect(res.status).toBe(204);
});

test("a login from a new device: the alert by mail and in the inbox (read with auth's token)", async () => {
  const first = await post(
    '/api/v1/auth/login',
    { email, password: `${password}x` },
    { 'user-agent': UA.chrome },
  );
  expect(first.status).toBe(200);
  const second = await post(
    '/api/v1/auth/login',
    { email, password: `${password}x` },
    { 'user-agent': UA.iphone },
  );
  expect(second.status).toBe(200);
  const { accessToken } = (await second.json()) as { accessToken: string };
  const mail = await mailTo(email, /New sign-in/, 30_000);
  expect(mail.text).toMatch(/iOS|iPhone|Mobile Safari/);
  const inbox = await waitFor(async () => {
    const r = await api(svc.url, '/api/v1/notifications/inbox', { token: accessToken });
    return r.status === 200 && r.body.items.length >= 2 ? r.body : undefined;
  });
  expect(inbox.items.map((i: { title: string }) => i.title)).toEqual([
    'New sign-in',
    'Welcome to Cinema',
  ]);
});
