/** The CLI as an operator runs it: compiled, in a child process, against the real database. */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import { createPool } from '@cinema/pg';
import { dropSchema, startService, suffix } from './helpers';

const root = path.resolve(__dirname, '..');
const cli = path.join(root, 'dist', 'cli.js');
const schema = `auth_cli_${suffix()}`;
const env = {
  ...process.env,
  AUTH_DB_SCHEMA: schema,
  ARGON2_MEMORY_KIB: '4096',
  ARGON2_TIME_COST: '1',
};

function newest(dir: string): number {
  let latest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) latest = Math.max(latest, newest(p));
    else latest = Math.max(latest, fs.statSync(p).mtimeMs);
  }
  return latest;
}

beforeAll(() => {
  // Builds the service (tsoa routes + tsc) unless dist/cli.js is newer than every source.
  if (fs.existsSync(cli) && fs.statSync(cli).mtimeMs > newest(path.join(root, 'src'))) return;
  const repo = path.resolve(root, '..', '..');
  execFileSync(process.execPath, [path.join(repo, 'scripts', 'tsoa.mjs'), root], { cwd: repo });
  execFileSync(path.join(repo, 'node_modules', '.bin', 'tsc'), ['-b', root], { cwd: repo });
});
afterAll(() => dropSchema(schema));

function run(args: string[], input?: string) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: 'pipe' });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ code, out, err }));
    if (input !== undefined) child.stdin.end(input);
  });
}

async function rolesOf(email: string) {
  const pool = createPool(process.env.DATABASE_URL!, { max: 1 });
  try {
    const r = await pool.query(
      `SELECT array_agg(r.name ORDER BY r.name) AS roles, u.password_hash FROM "${schema}".users u
       JOIN "${schema}".user_roles ur ON ur.user_id = u.id JOIN "${schema}".roles r ON r.id = ur.role_id
       WHERE u.email = $1 GROUP BY u.password_hash`,
      [email],
    );
    return r.rows[0] as { roles: string[]; password_hash: string } | undefined;
  } finally {
    await pool.end();
  }
}

describe('cli', () => {
  it('migrates idempotently', async () => {
    const first = await run(['migrate']);
    expect(first.code).toBe(0);
    // Every file of migrations/, in order (001_auth_schema.sql, 002_email_verification.sql, ...).
    const files = fs
      .readdirSync(path.join(root, 'migrations'))
      .filter((f) => f.endsWith('.sql'))
      .sort();
    expect(files.slice(0, 2)).toEqual(['001_auth_schema.sql', '002_email_verification.sql']);
    expect(first.out).toContain(`${files.length} applied (${files.join(', ')})`);
    const second = await run(['migrate']);
    expect(second.code).toBe(0);
    expect(second.out).toContain(`0 applied, ${files.length} already applied`);
  });

  it('createsuperuser non-interactively with --password-stdin', async () => {
    const email = `su-${suffix()}@example.com`;
    const r = await run(
      ['createsuperuser', '--email', email, '--password-stdin'],
      'a strong secret\n',
    );
    expect(r.err).not.toContain('a strong secret');
    expect(r.out).not.toContain('a strong secret');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/created super_user/);
    const row = await rolesOf(email);
    expect(row!.roles).toEqual(['admin', 'public_user', 'super_user']);
    expect(row!.password_hash).toMatch(/^\$argon2id\$/);
    // Run again: the account is not duplicated (and only promoted when asked: next test).
    const again = await run(
      ['createsuperuser', '--email', email, '--password-stdin'],
      'another secret!\n',
    );
    expect(again.code).toBe(65);
    expect(again.err).toMatch(/--promote-existing/);
  });

  it('createsuperuser refuses an existing account without --promote-existing; with it, promotes and ends every session (item 1)', async () => {
    // A registered account with an open session, as the service makes them.
    const s = await startService({ AUTH_DB_SCHEMA: schema, AUTH_MAIL: 'off' });
    try {
      const email = `promote-${suffix()}@example.com`;
      const password = 'their own secret';
      await request(s.app).post('/api/v1/auth/register').send({ email, password }).expect(201);
      const login = await request(s.app).post('/api/v1/auth/login').send({ email, password });
      expect(login.status).toBe(200);
      let refreshToken = login.body.refreshToken as string;

      const refused = await run(
        ['createsuperuser', '--email', email, '--password-stdin'],
        'an operator secret\n',
      );
      expect(refused.code).toBe(65);
      expect(refused.err).toMatch(/exists; run again with --promote-existing/);
      expect((await rolesOf(email))!.roles).toEqual(['public_user']);
      const still = await request(s.app).post('/api/v1/auth/refresh').send({ refreshToken });
      expect(still.status).toBe(200); // nothing changed
      refreshToken = still.body.refreshToken;

      const promoted = await run(
        ['createsuperuser', '--email', email, '--password-stdin', '--promote-existing'],
        'an operator secret\n',
      );
      expect(promoted.code).toBe(0);
      expect(promoted.out).toMatch(/promoted .* to super_user/);
      expect(promoted.out).toMatch(/1 session\(s\) ended/);
      expect((await rolesOf(email))!.roles).toEqual(['admin', 'public_user', 'super_user']);
      // Other services hear of it as of any ended session (the revocation feed of item 5).
      const sid = JSON.parse(
        Buffer.from(still.body.accessToken.split('.')[1], 'base64url').toString(),
      ).sid as string;
      const feed = await s.c.pool.query(
        `SELECT payload FROM outbox WHERE routing_key = 'session.revoked'
         AND payload->'session_ids' ? $1`,
        [sid],
      );
      expect(feed.rows.map((r) => r.payload.reason)).toEqual(['promoted to super_user']);
      // The session opened before the promotion is over: no super_user token from it.
      const after = await request(s.app).post('/api/v1/auth/refresh').send({ refreshToken });
      expect(after.status).toBe(401);
      expect(
        (
          await request(s.app)
            .get('/api/v1/auth/me')
            .set('Authorization', `Bearer ${still.body.accessToken}`)
        ).status,
      ).toBe(401);
      // The new password is the operator's.
      expect(
        (await request(s.app).post('/api/v1/auth/login').send({ email, password })).status,
      ).toBe(401);
      const su = await request(s.app)
        .post('/api/v1/auth/login')
        .send({ email, password: 'an operator secret' });
      expect(su.status).toBe(200);
      const claims = JSON.parse(
        Buffer.from(su.body.accessToken.split('.')[1], 'base64url').toString(),
      );
      expect(claims.roles).toContain('super_user');
    } finally {
      await s.close();
    }
  });

  it('createsuperuser interactively, asking for what is missing', async () => {
    const email = `int-${suffix()}@example.com`;
    const r = await run(['createsuperuser'], `${email}\nmy secret pass\nmy secret pass\n`);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/E-mail: /);
    expect(r.err).toMatch(/Password \(again\): /);
    expect(r.err).not.toContain('my secret pass');
    expect((await rolesOf(email))!.roles).toContain('super_user');

    const mismatch = await run(
      ['createsuperuser', '--email', `mm-${suffix()}@example.com`],
      'one secret pass\nother secret pass\n',
    );
    expect(mismatch.code).toBe(65);
    expect(mismatch.err).toMatch(/do not match/);
    const weak = await run(
      ['createsuperuser', '--email', `weak-${suffix()}@example.com`, '--password-stdin'],
      'short\n',
    );
    expect(weak.code).toBe(65);
    expect(weak.err).toMatch(/too weak/);
    const bad = await run(['createsuperuser', '--bogus']);
    expect(bad.code).toBe(64);
  });

  it('refuses a bad configuration listing the variable (exit 78)', async () => {
    const child = spawn(process.execPath, [cli, 'migrate'], {
      env: { ...env, DATABASE_URL: 'not a url' },
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(78);
    expect(err).toMatch(/DATABASE_URL/);
  });
});
