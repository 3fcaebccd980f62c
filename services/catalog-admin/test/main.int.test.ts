/**
 * The real entry point in its own process: bad configuration exits 78; with good configuration
 * it applies the schema, serves the movies API, the admin panel (tokens verified against the
 * JWKS derived from AUTH_URL) and the probes, and stops cleanly on SIGTERM.
 */
import * as path from 'node:path';
import { freePort, runServiceMain, waitFor } from '@cinema/testing';
import { createTestDatabase, startFakeAuth, type FakeAuth, type TestDatabase } from './helpers';

const ROOT = path.resolve(__dirname, '..');
let db: TestDatabase;
let auth: FakeAuth;

const runMain = (env: Record<string, string>) =>
  runServiceMain(ROOT, { LOG_LEVEL: 'warn', ...env });

beforeAll(async () => {
  db = await createTestDatabase('catalog_admin_main');
  auth = await startFakeAuth({});
});
afterAll(async () => {
  await auth?.close();
  await db?.drop();
});

it('refuses bad configuration with exit code 78', async () => {
  const run = runMain({ DATABASE_URL: 'not a url', ADMIN_COOKIE_SECURE: 'maybe' });
  expect(await run.exited).toBe(78);
  for (const name of ['DATABASE_URL', 'AUTH_URL', 'ADMIN_COOKIE_SECURE']) {
    expect(run.output()).toContain(name);
  }
});

it('migrates, serves the API, the admin panel and the probes, and stops on SIGTERM', async () => {
  const port = await freePort();
  const run = runMain({ PORT: String(port), DATABASE_URL: db.url, AUTH_URL: auth.url });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok, 30_000, 'readyz');
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'content'`,
    );
    expect(rows[0].n).toBeGreaterThan(0);
    const movies = await fetch(`${base}/api/v1/movies`);
    expect(movies.status).toBe(200);
    expect(await movies.json()).toMatchObject({ count: 0, results: [] });

    const anonymous = await fetch(`${base}/admin/films`, { redirect: 'manual' });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/admin/login?next=%2Fadmin%2Ffilms');
    const admin = await fetch(`${base}/admin/films`, {
      redirect: 'manual',
      headers: { cookie: `ca_access=${await auth.sign(['admin'])}` },
    });
    expect(admin.status).toBe(200);
    expect(await admin.text()).toContain('No films found.');

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  } finally {
    if (run.child.exitCode === null) run.child.kill('SIGKILL');
  }
});
