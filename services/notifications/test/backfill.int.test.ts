/**
 * The one-time back-fill of the recipients projection (issue 14) from the real auth service (its
 * own process, `services/auth/src/main.ts`) through its admin users list: at start when the
 * projection is empty, and again by `node dist/cli.js backfill` (run here from source with tsx),
 * which keeps newer projection data and erased recipients. The accounts are made before
 * notifications binds its queue to auth's exchange (their events reach no queue), so only the
 * back-fill fills the projection; later `user.updated` / `user.deleted` arrive by the consumer.
 */
import * as path from 'node:path';
import { freePort, runProcess, runServiceMain, type RunningProcess } from '@cinema/testing';
import { createPool } from '@cinema/pg';
import { startService, suffix, waitFor, type TestService } from './helpers';

const AUTH_DIR = path.resolve(__dirname, '../../auth');
const SERVICE_DIR = path.resolve(__dirname, '..');

let auth: RunningProcess;
let authUrl: string;
let svc: TestService;
const exchange = `auth.events.backfill.${suffix()}`;
const authSchema = `auth_b_${suffix()}`;
const password = 'Correct-Horse-Battery-9!';
const admin = `backfill-admin-${suffix()}@example.test`;
const users: Record<'ann' | 'bob' | 'cid', { email: string; id: string }> = {} as never;

const call = async (p: string, init: { method?: string; body?: unknown; token?: string } = {}) => {
  const res = await fetch(`${authUrl}${p}`, {
    method: init.method ?? 'POST',
    headers: {
      'content-type': 'application/json',
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
};
const register = async (email: string, firstName: string) => {
  const r = await call('/api/v1/auth/register', { body: { email, password, firstName } });
  expect(r.status).toBe(201);
  return r.body.id as string;
};
const login = async (email: string) =>
  (await call('/api/v1/auth/login', { body: { email, password } })).body.accessToken as string;

/** The CLI from source, with the service's environment. */
const cli = (env: Record<string, string>, args = ['backfill']) => {
  const p = runProcess(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: SERVICE_DIR,
    env: {
      DATABASE_URL: process.env.DATABASE_URL,
      AMQP_URL: process.env.AMQP_URL,
      NOTIFICATIONS_DB_SCHEMA: svc.schema,
      AUTH_URL: authUrl,
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  return p.exited.then((code) => ({ code, output: p.output() }));
};

beforeAll(async () => {
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
    OUTBOX_POLL_MS: '100',
    AUTH_MAIL: 'off',
    RATE_LIMIT_PREFIX: `auth:test:${authSchema}`,
    ARGON2_MEMORY_KIB: '4096',
    ARGON2_TIME_COST: '1',
  });
  await waitFor(
    async () => (await fetch(`${authUrl}/readyz`).catch(() => undefined))?.ok === true,
    60_000,
    `auth to start:\n${auth.output()}`,
  );
  // The service account: an admin (granted in auth's database, as an operator would).
  const adminId = await register(admin, 'Admin');
  const pool = createPool(process.env.DATABASE_URL!, { max: 1 });
  await pool.query(
    `INSERT INTO "${authSchema}".user_roles (user_id, role_id)
     SELECT $1, id FROM "${authSchema}".roles WHERE name = 'admin'`,
    [adminId],
  );
  await pool.end();
  for (const name of ['ann', 'bob', 'cid'] as const) {
    const email = `backfill-${name}-${suffix()}@example.test`;
    users[name] = { email, id: await register(email, name) };
  }
  const ann = await login(users.ann.email);
  const me = await call('/api/v1/auth/me', {
    method: 'PATCH',
    token: ann,
    body: { locale: 'ru-RU', timeZone: 'Asia/Yekaterinburg' },
  });
  expect(me.status).toBe(200);
  // Every event so far has left auth (to no queue) before notifications binds its own.
  const authDb = createPool(process.env.DATABASE_URL!, { max: 1 });
  await waitFor(async () => {
    const r = await authDb.query<{ n: string }>(
      `SELECT count(*) AS n FROM "${authSchema}".outbox WHERE published_at IS NULL`,
    );
    return r.rows[0]!.n === '0';
  }, 30_000);
  await authDb.end();

  svc = await startService({
    AUTH_EVENTS_EXCHANGE: exchange,
    AUTH_URL: authUrl,
    AUTH_JWKS_URL: `${authUrl}/.well-known/jwks.json`,
    AUTH_BACKFILL_EMAIL: admin,
    AUTH_BACKFILL_PASSWORD: password,
    AUTH_BACKFILL_PAGE_SIZE: '2',
  });
}, 120_000);

afterAll(async () => {
  await auth?.stop();
  await svc?.close();
  const pool = createPool(process.env.DATABASE_URL!, { max: 1 });
  await pool.query(`DROP SCHEMA IF EXISTS "${authSchema}" CASCADE`);
  await pool.end();
});

test('at start, an empty projection is filled from auth, page by page', async () => {
  const result = await svc.deps.recipientsBackfill.done();
  expect(result).toEqual({ seen: 4, applied: 4, skipped: 0, pages: 2, complete: true });
  const ann = await svc.deps.recipients.get(users.ann.id);
  expect(ann).toMatchObject({
    userId: users.ann.id,
    email: users.ann.email,
    emailVerified: false,
    firstName: 'ann',
    locale: 'ru',
    timeZone: 'Asia/Yekaterinburg',
    roles: ['public_user'],
    deletedAt: null,
  });
  expect(await svc.deps.recipients.get(users.bob.id)).toMatchObject({ email: users.bob.email });
});

test('the CLI runs it again: idempotent, newer data and erased recipients are kept', async () => {
  // A newer event reached bob's row; cid was deleted.
  await svc.deps.recipients.apply(
    { userId: users.bob.id, email: 'bob-newer@example.test' },
    new Date(Date.now() + 60_000),
  );
  await svc.deps.recipients.erase(users.cid.id, new Date());
  const run = await cli({ AUTH_BACKFILL_EMAIL: admin, AUTH_BACKFILL_PASSWORD: password });
  expect(run).toEqual({ code: 0, output: expect.any(String) });
  expect(JSON.parse(run.output.trim().split('\n').at(-1)!)).toEqual({
    seen: 4,
    applied: 2,
    skipped: 2,
    pages: 1,
    complete: true,
  });
  expect((await svc.deps.recipients.get(users.bob.id))?.email).toBe('bob-newer@example.test');
  expect(await svc.deps.recipients.get(users.cid.id)).toMatchObject({ email: null });
  expect((await svc.deps.recipients.get(users.cid.id))?.deletedAt).toBeInstanceOf(Date);
  expect((await svc.deps.recipients.get(users.ann.id))?.locale).toBe('ru');
});

test('the CLI refuses without an account (2) and with an account that is not an admin (1)', async () => {
  const none = await cli({});
  expect(none.code).toBe(2);
  expect(none.output).toMatch(/AUTH_BACKFILL_EMAIL/);
  const plain = await cli({
    AUTH_BACKFILL_EMAIL: users.ann.email,
    AUTH_BACKFILL_PASSWORD: password,
  });
  expect(plain.code).toBe(1);
  expect(plain.output).toMatch(/admin or super_user/);
  const wrong = await cli({ AUTH_BACKFILL_EMAIL: admin, AUTH_BACKFILL_PASSWORD: 'wrong-password' });
  expect(wrong.code).toBe(1);
  expect(wrong.output).toMatch(/wrong e-mail or password/);
  const usage = await cli({}, ['frobnicate']);
  expect(usage.code).toBe(2);
  expect(usage.output).toMatch(/usage: cli.js/);
});

test("auth's user.updated and user.deleted reach the projection through the consumer", async () => {
  const token = await login(users.ann.email);
  const me = await call('/api/v1/auth/me', {
    method: 'PATCH',
    token,
    body: { firstName: 'Annie', timeZone: 'Europe/Paris', locale: 'en' },
  });
  expect(me.status).toBe(200);
  await waitFor(
    async () => (await svc.deps.recipients.get(users.ann.id))?.firstName === 'Annie',
    20_000,
  );
  expect(await svc.deps.recipients.get(users.ann.id)).toMatchObject({
    timeZone: 'Europe/Paris',
    locale: 'en',
    email: users.ann.email,
  });
  const del = await call('/api/v1/auth/me', {
    method: 'DELETE',
    token,
    body: { currentPassword: password },
  });
  expect(del.status).toBe(204);
  await waitFor(
    async () => (await svc.deps.recipients.get(users.ann.id))?.deletedAt instanceof Date,
    20_000,
  );
  expect(await svc.deps.recipients.get(users.ann.id)).toMatchObject({
    email: null,
    firstName: null,
  });
});
