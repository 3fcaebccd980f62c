/**
 * The stack's command line on a clone the postgres user cannot reach: `up postgres` with
 * STACK_HOME under a fresh folder of mode 0700 (as a clone under /root is, run as root) falls
 * back to a data folder PostgreSQL can use, says where, and is ready. Then, on that stack:
 * `env` lines that `eval` turns into variables child processes see, `status`, a killed server
 * brought back by the supervisor (counted in `status`), and `restart <server>`.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { runProcess, TSX, waitFor, type RunningProcess } from '@cinema/testing';
import { fallbackDataDir, isAlive, repoRoot } from '../src/core';
import { readSupervisors } from '../src/supervisor';

const cli = path.resolve(__dirname, '../src/cli.ts');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-0700-'));
const home = path.join(root, 'clone', '.stack');
const asRoot = process.getuid?.() === 0;

/** The caller's environment without the stack's server variables (they would be used instead). */
function env(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const base = { ...process.env };
  for (const key of Object.keys(base)) {
    if (
      /^(DATABASE_URL|REDIS_URL|AMQP_URL|KAFKA_BROKERS|ELASTICSEARCH_URL|MONGODB_URL|SMTP_URL|MAILCATCHER_URL|GATEWAY_URL|STACK_SERVERS)$/.test(
        key,
      )
    ) {
      delete base[key];
    }
  }
  return { ...base, STACK_HOME: home, ...extra };
}

function stack(args: string[], extra: Record<string, string> = {}): string {
  return execFileSync(TSX, [cli, ...args], { env: env(extra), encoding: 'utf8' });
}

async function selectOne(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one;
  } finally {
    await client.end();
  }
}

const databaseUrl = () => /^export DATABASE_URL='([^']+)'$/m.exec(stack(['env']))![1]!;

let up: RunningProcess;

beforeAll(async () => {
  expect(fs.statSync(root).mode & 0o777).toBe(0o700);
  up = runProcess(TSX, [cli, 'up', 'postgres', 'nginx'], { env: env() });
  await waitFor(
    async () => up.output().includes('Stack is up') || up.child.exitCode !== null,
    120_000,
  );
  if (!up.output().includes('Stack is up')) throw new Error(`stack up failed:\n${up.output()}`);
}, 130_000);

afterAll(async () => {
  const code = await up?.stop('SIGINT');
  expect(code).toBe(0);
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(path.dirname(fallbackDataDir('postgres', home)), { recursive: true, force: true });
}, 60_000);

it('starts PostgreSQL from a clone under a 0700 folder, in a fallback data folder it names', async () => {
  if (asRoot) {
    const fallback = fallbackDataDir('postgres', home);
    expect(up.output()).toContain(
      `postgres: the postgres user cannot reach ${path.join(home, 'data', 'postgres')} (a parent folder is not traversable by other users); using ${fallback} instead`,
    );
    expect(fs.existsSync(path.join(fallback, 'pgdata', 'PG_VERSION'))).toBe(true);
    expect(fs.readFileSync(path.join(home, 'data', 'postgres', 'location'), 'utf8')).toContain(
      fallback,
    );
  }
  expect(await selectOne(databaseUrl())).toBe(1);
});

it("serves the gateway's landing page from there too (nginx's workers run as nobody)", async () => {
  if (asRoot) {
    expect(up.output()).toContain(
      `nginx: nginx's workers (nobody) cannot reach ${path.join(home, 'data', 'nginx')} (a parent folder is not traversable by other users); using ${fallbackDataDir('nginx', home)} instead`,
    );
  }
  const gateway = /^export GATEWAY_URL='([^']+)'$/m.exec(stack(['env']))![1]!;
  const res = await fetch(`${gateway}/`);
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('The services are not running');
});

it('prints env lines that eval turns into variables child processes see', () => {
  const url = databaseUrl();
  const seen = execFileSync(
    'bash',
    [
      '-c',
      `eval "$("$0" "$1" env)" && node -e 'process.stdout.write(process.env.DATABASE_URL)'`,
      TSX,
      cli,
    ],
    { env: env(), encoding: 'utf8' },
  );
  expect(seen).toBe(url);
  // The documented form, through npm (-s: without it npm prints its `> script` banner first).
  const viaNpm = execFileSync(
    'bash',
    [
      '-c',
      `eval "$(npm run -s stack -- env)" && node -e 'process.stdout.write(process.env.DATABASE_URL)'`,
    ],
    { env: env(), encoding: 'utf8', cwd: repoRoot() },
  );
  expect(viaNpm).toBe(url);

  // Values a shell would otherwise expand or split, through a state file of their own.
  const odd = path.join(root, 'odd');
  fs.mkdirSync(odd);
  const value = `it's $HOME \`id\` "q" \\ a  b\nline 2`;
  fs.writeFileSync(
    path.join(odd, 'state.json'),
    JSON.stringify({
      servers: { x: { name: 'x', version: '1', env: { ODD_VALUE: value }, owner: 1 } },
    }),
  );
  const printed = execFileSync(
    'sh',
    [
      '-c',
      `eval "$("$0" "$1" env)" && node -e 'process.stdout.write(JSON.stringify(process.env.ODD_VALUE))'`,
      TSX,
      cli,
    ],
    { env: env({ STACK_HOME: odd }), encoding: 'utf8' },
  );
  expect(JSON.parse(printed)).toBe(value);
});

it('brings a killed server back (status counts it) and restarts one by name', async () => {
  expect(stack(['status'])).toMatch(/^postgres\s+up\s+pid \d+[\s\S]*restarts 0/m);
  const [supervisor] = readSupervisors(home);
  const pid = supervisor!.units.find((u) => u.name === 'postgres')!.pid!;
  process.kill(pid, 'SIGKILL');
  await waitFor(async () => {
    const unit = readSupervisors(home)[0]?.units.find((u) => u.name === 'postgres');
    return unit?.state === 'up' && unit.restarts === 1 && unit.pid !== pid;
  }, 60_000);
  expect(up.output()).toMatch(
    /\[supervisor\] postgres \(pid \d+\) killed by SIGKILL after [\d.]+ s; restarting in 1\.0 s \(restart 1\)/,
  );
  expect(stack(['status'])).toMatch(/restarts 1 {2}last exit: killed by SIGKILL/);
  expect(await selectOne(databaseUrl())).toBe(1);

  const before = readSupervisors(home)[0]!.units.find((u) => u.name === 'postgres')!.pid!;
  expect(stack(['restart', 'postgres'])).toMatch(/^postgres restarted \(pid \d+, restarts 2\)$/m);
  expect(isAlive(before)).toBe(false);
  expect(await selectOne(databaseUrl())).toBe(1);
  expect(() => stack(['restart', 'nothing'])).toThrow(
    /nothing is neither supervised nor a recorded server/,
  );
}, 120_000);
