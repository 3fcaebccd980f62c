/**
 * Demo data of `npm start`: the catalog of `../shared/data/movies.sqlite` loaded through
 * catalog-admin's migration CLI, a demo admin made with auth's `createsuperuser` CLI (both run
 * as processes, as a user would), and the wait until the catalog ETL has indexed the films.
 *
 *   DEMO_DATA=false                 neither catalog nor admin
 *   DEMO_ADMIN_EMAIL / _PASSWORD    the admin's credentials (else generated once, kept in
 *                                   `<stack home>/demo-admin.json`)
 *   DEMO_CATALOG_SQLITE             another SQLite file to load
 */
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureDir, sleep, stackHome } from './core';

export const DEFAULT_ADMIN_EMAIL = 'admin@cinema.local';

/** DEMO_DATA is on unless set to false/0/no/off. */
export function demoEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return !/^(false|0|no|off)$/i.test(env.DEMO_DATA?.trim() ?? '');
}

export interface DemoAdmin {
  email: string;
  password: string;
  /** Where the credentials come from. */
  source: 'environment' | 'kept' | 'generated';
  /** The file that keeps generated credentials. */
  file: string;
}

/**
 * A password auth accepts (8-128 characters, at least 4 different ones, not containing the
 * e-mail's name): 20 characters of base64url from 15 random bytes.
 */
export function generatePassword(
  email: string,
  random: (size: number) => Buffer = crypto.randomBytes,
): string {
  const name = email.split('@')[0]!.toLowerCase();
  for (;;) {
    const password = random(15).toString('base64url');
    if (new Set(password).size >= 4 && !(name.length > 3 && password.toLowerCase().includes(name)))
      return password;
  }
}

/**
 * The demo admin's credentials: DEMO_ADMIN_EMAIL / DEMO_ADMIN_PASSWORD when set, else the ones
 * kept in `<home>/demo-admin.json`, else new ones (written there, mode 0600, for next time).
 */
export function demoAdminCredentials(
  env: NodeJS.ProcessEnv = process.env,
  home = stackHome(),
): DemoAdmin {
  const file = path.join(home, 'demo-admin.json');
  let kept: { email?: string; password?: string } = {};
  try {
    kept = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof kept;
  } catch {
    /* none yet */
  }
  const givenEmail = env.DEMO_ADMIN_EMAIL?.trim();
  const givenPassword = env.DEMO_ADMIN_PASSWORD;
  if (givenPassword) {
    return {
      email: givenEmail || kept.email || DEFAULT_ADMIN_EMAIL,
      password: givenPassword,
      source: 'environment',
      file,
    };
  }
  const email = givenEmail || kept.email || DEFAULT_ADMIN_EMAIL;
  if (kept.password && (!givenEmail || givenEmail === kept.email)) {
    return { email, password: kept.password, source: 'kept', file };
  }
  const password = generatePassword(email);
  ensureDir(home);
  fs.writeFileSync(file, `${JSON.stringify({ email, password }, null, 2)}\n`, { mode: 0o600 });
  return { email, password, source: 'generated', file };
}

export interface CliResult {
  code: number | null;
  output: string;
}

/** Runs a CLI to completion (stdin from `input`), keeping stdout and stderr together. */
export function runCli(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; input?: string },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(options.input ?? '');
  });
}

function lastLines(text: string, n = 15): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

/** Can the admin log in through auth's API at `authUrl` (then nothing is to be done)? */
export async function canLogIn(authUrl: string, admin: DemoAdmin): Promise<boolean> {
  const res = await fetch(`${authUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: admin.email, password: admin.password }),
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  return res.ok;
}

/**
 * Makes sure the demo admin exists with its password: nothing to do when `loggedIn` says it can
 * log in already; else auth's `createsuperuser`, and, when the account exists with another
 * password, `createsuperuser --promote-existing` (which sets the demo password).
 */
export async function ensureDemoAdmin(
  root: string,
  env: NodeJS.ProcessEnv,
  admin: DemoAdmin,
  loggedIn?: () => Promise<boolean>,
): Promise<{ ok: boolean; message: string }> {
  if (loggedIn && (await loggedIn().catch(() => false))) {
    return { ok: true, message: `${admin.email} exists and logs in` };
  }
  const cli = path.join(root, 'services', 'auth', 'dist', 'cli.js');
  if (!fs.existsSync(cli)) return { ok: false, message: `auth is not built (${cli} missing)` };
  const create = (extra: string[]) =>
    runCli(
      process.execPath,
      [cli, 'createsuperuser', '--email', admin.email, '--password-stdin', ...extra],
      { env, cwd: path.dirname(path.dirname(cli)), input: `${admin.password}\n` },
    );
  let result = await create([]);
  if (result.code !== 0 && result.output.includes('--promote-existing')) {
    result = await create(['--promote-existing']);
  }
  if (result.code !== 0) {
    return {
      ok: false,
      message: `auth createsuperuser exited with code ${result.code}:\n${lastLines(result.output)}`,
    };
  }
  return { ok: true, message: lastLines(result.output, 1) };
}

export function demoCatalogFile(root: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(
    env.DEMO_CATALOG_SQLITE ?? path.join(root, '..', 'shared', 'data', 'movies.sqlite'),
  );
}

export interface CatalogLoad {
  outcome: 'equal' | 'loaded' | 'edited' | 'missing' | 'failed';
  message: string;
}

/**
 * Loads the demo catalog through `catalog-admin migrate-sqlite` (idempotent): first
 * `--verify-only`; when the database already equals the file, nothing is copied. A catalog that
 * was loaded from this very file earlier and differs now (edited in the admin panel) is left as
 * it is, unless DEMO_CATALOG_RELOAD=true.
 */
export async function loadDemoCatalog(
  root: string,
  env: NodeJS.ProcessEnv,
  home = stackHome(),
): Promise<CatalogLoad> {
  const cli = path.join(root, 'services', 'catalog-admin', 'dist', 'cli.js');
  const file = demoCatalogFile(root, env);
  if (!fs.existsSync(cli)) {
    return { outcome: 'failed', message: `catalog-admin is not built (${cli} missing)` };
  }
  if (!fs.existsSync(file)) return { outcome: 'missing', message: `${file} not found; skipped` };
  const migrate = (extra: string[]) =>
    runCli(process.execPath, [cli, 'migrate-sqlite', file, '--no-progress', ...extra], {
      env,
      cwd: path.dirname(path.dirname(cli)),
    });
  const digest = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  const database = new URL(env.DATABASE_URL ?? 'postgres://unset/').host;
  const stampFile = path.join(home, 'demo-catalog.json');
  const stamp = `${digest} ${database}${new URL(env.DATABASE_URL ?? 'postgres://unset/').pathname}`;
  ensureDir(home);
  const verify = await migrate(['--verify-only']);
  if (verify.code === 0) {
    fs.writeFileSync(stampFile, JSON.stringify({ stamp }));
    return { outcome: 'equal', message: `already equal to ${file}; nothing copied` };
  }
  if (verify.code !== 1) {
    return {
      outcome: 'failed',
      message: `catalog-admin migrate-sqlite --verify-only exited with code ${verify.code}:\n${lastLines(verify.output)}`,
    };
  }
  let loadedBefore = false;
  try {
    loadedBefore =
      (JSON.parse(fs.readFileSync(stampFile, 'utf8')) as { stamp?: string }).stamp === stamp;
  } catch {
    /* never loaded */
  }
  if (loadedBefore && !/^(true|1|yes)$/i.test(env.DEMO_CATALOG_RELOAD ?? '')) {
    return {
      outcome: 'edited',
      message: `differs from ${file} since it was loaded (edited?); left as it is (DEMO_CATALOG_RELOAD=true loads it again)`,
    };
  }
  const started = Date.now();
  const load = await migrate([]);
  if (load.code !== 0) {
    return {
      outcome: 'failed',
      message: `catalog-admin migrate-sqlite exited with code ${load.code}:\n${lastLines(load.output)}`,
    };
  }
  fs.writeFileSync(stampFile, JSON.stringify({ stamp }));
  return {
    outcome: 'loaded',
    message: `loaded from ${file} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  };
}

export interface IndexedCatalog {
  /** Films in PostgreSQL (content.film_work). */
  films: number;
  /** Documents in the search index. */
  indexed: number;
  /** The best-rated indexed film, for the player link. */
  film?: { id: string; title: string };
}

async function filmsInDatabase(databaseUrl: string): Promise<number> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ n: number }>(
      "SELECT CASE WHEN to_regclass('content.film_work') IS NULL THEN 0 ELSE (SELECT count(*)::int FROM content.film_work) END AS n",
    );
    return rows[0]?.n ?? 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Waits until the search index holds as many films as PostgreSQL (the catalog ETL's work), and
 * returns the best-rated one. Gives up after `timeoutMs` with what it has.
 */
export async function waitForCatalogIndex(
  env: NodeJS.ProcessEnv,
  timeoutMs = 120_000,
): Promise<IndexedCatalog & { complete: boolean }> {
  const es = env.ELASTICSEARCH_URL;
  const index = `${env.ES_INDEX_PREFIX ?? ''}films`;
  const films = env.DATABASE_URL ? await filmsInDatabase(env.DATABASE_URL) : 0;
  if (!es) return { films, indexed: 0, complete: films === 0 };
  const indexed = async () => {
    const res = await fetch(`${es}/${index}/_count`, { signal: AbortSignal.timeout(3000) });
    return res.ok ? ((await res.json()) as { count: number }).count : 0;
  };
  const deadline = Date.now() + timeoutMs;
  let count = 0;
  for (;;) {
    count = await indexed().catch(() => 0);
    if (count >= films || Date.now() > deadline) break;
    await sleep(1000);
  }
  let film: IndexedCatalog['film'];
  if (count > 0) {
    const res = await fetch(`${es}/${index}/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        size: 1,
        _source: ['title'],
        sort: [{ rating: { order: 'desc', unmapped_type: 'float' } }],
      }),
      signal: AbortSignal.timeout(5000),
    }).catch(() => undefined);
    const hit = res?.ok
      ? (
          (await res.json()) as {
            hits: { hits: Array<{ _id: string; _source?: { title?: string } }> };
          }
        ).hits.hits[0]
      : undefined;
    if (hit) film = { id: hit._id, title: hit._source?.title ?? hit._id };
  }
  return { films, indexed: count, film, complete: count >= films };
}
