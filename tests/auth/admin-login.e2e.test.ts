/**
 * Issue 13 item 10: the admin panel (catalog-admin) logs in through auth as a trusted proxy of
 * the browser, so auth's per-address limit counts each client, not catalog-admin's pod. Both
 * services run as processes (their real entry points). Client A sends 61 wrong logins through
 * the panel (the limit is 60 a minute per address): A is stopped, and client B, from another
 * address, still logs in; auth's login history records B's address.
 *
 * The clients are told apart by X-Forwarded-For towards catalog-admin, which trusts its local
 * proxy (loopback) as it trusts the gateway in a deployment. Calls to auth itself go through its
 * generated client (@cinema/clients). Own names: auth schema, Redis prefix, events exchange, a
 * catalog database; removed in afterAll.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import request from 'supertest';
import { createServiceClient } from '@cinema/clients';
import { createPool } from '@cinema/pg';
import { startServiceMain, suffix, TSX, type ServiceProcess } from '@cinema/testing';

jest.setTimeout(300_000);

const root = path.resolve(__dirname, '../..');
const sfx = suffix();
const schema = `auth_e2e_adm_${sfx}`;
const database = `catalog_e2e_adm_${sfx}`;
const admin = { email: `admin-${sfx}@example.com`, password: 'admin password 12345' };
const CLIENT_A = '203.0.113.10';
const CLIENT_B = '198.51.100.20';

const procs: Record<string, ServiceProcess> = {};
const urls: Record<string, string> = {};
const dbUrl = (name: string) => {
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
};
const authEnv = {
  DATABASE_URL: process.env.DATABASE_URL,
  REDIS_URL: process.env.REDIS_URL,
  AMQP_URL: process.env.AMQP_URL,
  AUTH_DB_SCHEMA: schema,
  RATE_LIMIT_PREFIX: `auth:e2e:${sfx}`,
  AUTH_EVENTS_EXCHANGE: `auth.events.e2e.${sfx}`,
  ARGON2_MEMORY_KIB: '4096',
  ARGON2_TIME_COST: '1',
};

async function start(name: string, dir: string, env: Record<string, string | undefined>) {
  procs[name] = await startServiceMain(path.join(root, dir), env);
  urls[name] = procs[name]!.url;
}

beforeAll(async () => {
  const pool = createPool(process.env.DATABASE_URL!, { max: 1 });
  await pool.query(`CREATE DATABASE "${database}"`);
  await pool.end();
  await start('auth', 'services/auth', authEnv);
  execFileSync(TSX, ['src/cli.ts', 'createsuperuser', '--email', admin.email, '--password-stdin'], {
    cwd: path.join(root, 'services/auth'),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...authEnv, LOG_LEVEL: 'warn' },
    input: `${admin.password}\n`,
  });
  await start('admin', 'services/catalog-admin', {
    DATABASE_URL: dbUrl(database),
    AUTH_URL: urls.auth,
  });
});

afterAll(async () => {
  for (const p of Object.values(procs).reverse()) await p.stop();
  const pool = createPool(process.env.DATABASE_URL!, { max: 1 });
  await pool.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

/** A browser at `ip` behind the panel's proxy. */
async function browser(ip: string) {
  const agent = request.agent(urls.admin!);
  const page = await agent.get('/admin/login').set('X-Forwarded-For', ip);
  expect(page.status).toBe(200);
  const csrf = csrfOf(page.text);
  const login = (email: string, password: string) =>
    agent
      .post('/admin/login')
      .set('X-Forwarded-For', ip)
      .set('User-Agent', `e2e browser at ${ip}`)
      .type('form')
      .send({ _csrf: csrf, email, password, next: '/admin/genres' });
  const logout = () =>
    agent.post('/admin/logout').set('X-Forwarded-For', ip).type('form').send({ _csrf: csrf });
  return Object.assign(login, { logout });
}

describe('admin-panel logins through auth', () => {
  it('count against each client: 61 wrong logins from one do not lock out another', async () => {
    const a = await browser(CLIENT_A);
    const answers: number[] = [];
    let last = '';
    for (let i = 0; i < 61; i++) {
      // A different (unknown) account each time: only the per-address limit can stop A.
      const res = await a(`nobody-${i}-${sfx}@example.com`, 'wrong password');
      answers.push(res.status);
      last = res.text;
    }
    expect(answers.slice(0, 60).every((s) => s === 401)).toBe(true);
    expect(last).toMatch(/too many attempts/);

    const b = await browser(CLIENT_B);
    const wrong = await b(`nobody-b-${sfx}@example.com`, 'wrong password');
    expect(wrong.status).toBe(401);
    expect(wrong.text).toMatch(/wrong e-mail or password/);
    const ok = await b(admin.email, admin.password);
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toBe('/admin/genres');

    // Auth recorded B's address and browser, not catalog-admin's.
    const cookies = ([] as string[]).concat(ok.headers['set-cookie'] ?? []);
    const access = /ca_access=([^;]+)/.exec(cookies.join('\n'))?.[1];
    expect(access).toBeDefined();
    const auth = createServiceClient('auth', { baseUrl: urls.auth! });
    const asB = { headers: { authorization: `Bearer ${decodeURIComponent(access!)}` } };
    const history = await auth.GET('/api/v1/auth/login-history', asB);
    expect(history.response.status).toBe(200);
    expect(history.data!.items[0]).toMatchObject({
      success: true,
      ip: CLIENT_B,
      userAgent: `e2e browser at ${CLIENT_B}`,
    });

    // Logging out of the panel ends the session at auth (so every service refuses the token).
    const out = await b.logout();
    expect(out.status).toBe(303);
    const me = await auth.GET('/api/v1/auth/me', asB);
    expect(me.response.status).toBe(401);
  });
});
