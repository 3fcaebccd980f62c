/**
 * Demo data through the services' own CLIs (built: dist/cli.js), on a database of its own:
 * the catalog is loaded once, then found equal (nothing copied); a catalog edited since is left
 * alone unless DEMO_CATALOG_RELOAD=true; the demo admin is made and made again (idempotent), and
 * its credentials are generated once and kept, or taken from DEMO_ADMIN_EMAIL/PASSWORD.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { suffix } from '@cinema/testing';
import { repoRoot } from '../src/core';
import { demoAdminCredentials, ensureDemoAdmin, loadDemoCatalog } from '../src/demo';

const root = repoRoot();
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-demo-'));
const name = `stack_demo_${suffix()}`;
let url: string;

async function sql<T>(text: string, database = url): Promise<T[]> {
  const client = new Client({ connectionString: database });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await sql(`CREATE DATABASE ${name}`, process.env.DATABASE_URL);
  const u = new URL(process.env.DATABASE_URL!);
  u.pathname = `/${name}`;
  url = u.toString();
});

afterAll(async () => {
  await sql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, process.env.DATABASE_URL);
  fs.rmSync(home, { recursive: true, force: true });
});

const env = () => ({ ...process.env, DATABASE_URL: url });

it('loads the catalog once, then finds it equal; an edited catalog is left alone unless asked', async () => {
  const first = await loadDemoCatalog(root, env(), home);
  expect(first).toMatchObject({ outcome: 'loaded' });
  expect(first.message).toMatch(/^loaded from .*movies\.sqlite in [\d.]+ s$/);
  const [{ n }] = await sql<{ n: number }>('SELECT count(*)::int AS n FROM content.film_work');
  expect(n).toBe(999);

  expect(await loadDemoCatalog(root, env(), home)).toMatchObject({ outcome: 'equal' });

  await sql(
    "UPDATE content.film_work SET title = 'Edited in the admin' WHERE id = (SELECT id FROM content.film_work LIMIT 1)",
  );
  const edited = await loadDemoCatalog(root, env(), home);
  expect(edited.outcome).toBe('edited');
  expect(edited.message).toContain('DEMO_CATALOG_RELOAD=true');
  expect(
    await sql("SELECT 1 FROM content.film_work WHERE title = 'Edited in the admin'"),
  ).toHaveLength(1);

  expect(
    await loadDemoCatalog(root, { ...env(), DEMO_CATALOG_RELOAD: 'true' }, home),
  ).toMatchObject({ outcome: 'loaded' });
  expect(await sql("SELECT 1 FROM content.film_work WHERE title = 'Edited in the admin'")).toEqual(
    [],
  );
}, 120_000);

it('reports a missing SQLite file instead of failing', async () => {
  const missing = await loadDemoCatalog(
    root,
    { ...env(), DEMO_CATALOG_SQLITE: path.join(home, 'none.sqlite') },
    home,
  );
  expect(missing).toMatchObject({ outcome: 'missing' });
});

it('generates the admin credentials once and keeps them; the environment wins', () => {
  const made = demoAdminCredentials({}, home);
  expect(made).toMatchObject({ email: 'admin@cinema.local', source: 'generated' });
  expect(fs.statSync(made.file).mode & 0o777).toBe(0o600);
  expect(demoAdminCredentials({}, home)).toEqual({ ...made, source: 'kept' });
  expect(
    demoAdminCredentials(
      { DEMO_ADMIN_EMAIL: 'ops@cinema.local', DEMO_ADMIN_PASSWORD: 's3cret-pass' },
      home,
    ),
  ).toMatchObject({ email: 'ops@cinema.local', password: 's3cret-pass', source: 'environment' });
  // Another e-mail without a password: a new password, kept for that e-mail.
  const other = demoAdminCredentials({ DEMO_ADMIN_EMAIL: 'ops@cinema.local' }, home);
  expect(other).toMatchObject({ email: 'ops@cinema.local', source: 'generated' });
  expect(other.password).not.toBe(made.password);
});

it('makes the demo admin with auth createsuperuser, again without harm', async () => {
  const admin = demoAdminCredentials({}, home);
  const first = await ensureDemoAdmin(root, env(), admin);
  expect(first).toMatchObject({ ok: true });
  expect(first.message).toContain(`created super_user ${admin.email}`);
  // Made already, with another password: promoted (the demo password set).
  const again = await ensureDemoAdmin(root, env(), { ...admin, password: 'another-pass-1' });
  expect(again).toMatchObject({ ok: true });
  expect(again.message).toMatch(new RegExp(`(promoted|updated)( super_user)? ${admin.email}`));
  // Logs in already: nothing run.
  expect(await ensureDemoAdmin(root, { PATH: '' }, admin, async () => true)).toEqual({
    ok: true,
    message: `${admin.email} exists and logs in`,
  });
  const bad = await ensureDemoAdmin(root, env(), { ...admin, password: 'short' });
  expect(bad.ok).toBe(false);
  expect(bad.message).toMatch(/createsuperuser exited with code 65/);
}, 60_000);
