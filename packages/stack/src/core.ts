/**
 * Core of the local stack: where things live, how a server process is spawned, supervised,
 * waited for and stopped. Each server in `servers/` builds on these helpers.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Error raised when a server cannot be installed or started; carries the tail of its log. */
export class StackError extends Error {
  constructor(
    message: string,
    readonly logFile?: string,
  ) {
    super(logFile ? `${message}\n--- last lines of ${logFile} ---\n${logTail(logFile)}` : message);
    this.name = 'StackError';
  }
}

/** The repository root (the folder holding the root package.json with workspaces). */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      const json = JSON.parse(fs.readFileSync(pkg, 'utf8')) as { workspaces?: unknown };
      if (json.workspaces) return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** Runtime folder: data, logs and the state file of the running stack. Git-ignored. */
export function stackHome(): string {
  return path.resolve(process.env.STACK_HOME ?? path.join(repoRoot(), '.stack'));
}

/**
 * Download and build cache. Outside the work tree by default so that a fresh clone on the same
 * machine (as CI does) reuses what an earlier run installed.
 */
export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.resolve(process.env.STACK_CACHE_DIR ?? path.join(base, 'cinema-platform'));
}

export function ensureDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export function logDir(): string {
  return ensureDir(path.join(stackHome(), 'logs'));
}

export function dataDir(name: string): string {
  return ensureDir(path.join(stackHome(), 'data', name));
}

/**
 * Where a server keeps its data when the user its processes run as (postgres, nginx's workers as
 * nobody, when the stack runs as root) cannot reach `<stack home>/data/<name>`: a clone under
 * /root, or any folder of mode 0700 on the way. A folder under /var/tmp (else the OS temp
 * folder; STACK_FALLBACK_DIR chooses another), named after the stack home so that the next start
 * finds the same data.
 */
export function fallbackDataDir(name: string, home = stackHome()): string {
  const parent =
    process.env.STACK_FALLBACK_DIR ?? (fs.existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir());
  const id = createHash('sha256').update(home).digest('hex').slice(0, 12);
  return path.join(parent, `cinema-stack-${id}`, name);
}

/** Can `user` (a name) get into `dir` (`test -x`, or another `test` flag)? Needs root. */
export async function userCanReach(user: string, dir: string, flag = '-x'): Promise<boolean> {
  try {
    const gid = await capture('id', ['-g', user]);
    await capture('setpriv', [
      `--reuid=${user}`,
      `--regid=${gid}`,
      '--clear-groups',
      '--',
      'test',
      flag,
      dir,
    ]);
    return true;
  } catch {
    return false;
  }
}

/**
 * A server's data folder, `<stack home>/data/<name>`, unless a fallback was chosen for it: then
 * the folder named in its `location` file.
 */
export function serverDir(name: string): string {
  const own = dataDir(name);
  try {
    const moved = fs.readFileSync(path.join(own, 'location'), 'utf8').trim();
    if (moved) return ensureDir(moved);
  } catch {
    /* no fallback */
  }
  return own;
}

/**
 * Points `<stack home>/data/<name>` at its fallback folder (the `location` file, read by
 * serverDir) and says so; the fallback's parent is made traversable.
 */
export function useFallbackDir(name: string, why: string): string {
  const own = dataDir(name);
  const fallback = fallbackDataDir(name);
  fs.mkdirSync(path.dirname(fallback), { recursive: true, mode: 0o755 });
  fs.chmodSync(path.dirname(fallback), 0o755);
  fs.mkdirSync(fallback, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(own, 'location'), `${fallback}\n`);
  say(name, `${why}; using ${fallback} instead`);
  return fallback;
}

/** Forgets a fallback (the server's own data folder is reachable again). */
export function useOwnDir(name: string): string {
  const own = dataDir(name);
  fs.rmSync(path.join(own, 'location'), { force: true });
  return own;
}

/** Progress output of the stack goes to stderr, so that `stack env` can print only env lines. */
export function say(server: string, message: string): void {
  process.stderr.write(`[stack] ${server}: ${message}\n`);
}

export function logTail(file: string, lines = 30): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}

/** Runs a command to completion, appending its output to `logFile`; throws with the log tail. */
export async function run(
  command: string,
  args: string[],
  options: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv; what?: string },
): Promise<void> {
  const out = fs.openSync(options.logFile, 'a');
  fs.writeSync(out, `\n$ ${command} ${args.join(' ')}\n`);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(command, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', out, out],
      });
      child.on('error', reject);
      child.on('exit', (code, signal) =>
        code === 0
          ? resolve()
          : reject(new Error(`${command} exited with ${signal ?? `code ${code ?? '?'}`}`)),
      );
    });
  } catch (err) {
    throw new StackError(
      `${options.what ?? command} failed: ${(err as Error).message}`,
      options.logFile,
    );
  } finally {
    fs.closeSync(out);
  }
}

/** Runs a command and returns its stdout (for version probes and the like). */
export async function capture(command: string, args: string[], env?: NodeJS.ProcessEnv) {
  const { stdout, stderr } = await execFileAsync(command, args, {
    env: env ?? process.env,
    maxBuffer: 16 * 1024 * 1024,
  });
  return `${stdout}${stderr}`.trim();
}

export async function which(command: string): Promise<string | undefined> {
  try {
    return (await capture('sh', ['-c', `command -v ${command}`])) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Serialises installs across processes (parallel test runs, `npm start` beside `npm test`) with
 * a lock folder; a lock left by a dead process is taken over.
 */
export async function withLock<T>(
  name: string,
  fn: () => Promise<T>,
  dir: string = cacheDir(),
): Promise<T> {
  const lock = path.join(ensureDir(dir), `${name}.lock`);
  const started = Date.now();
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
      } catch {
        /* lock being created or removed */
      }
      if (Number.isFinite(owner) && !isAlive(owner)) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - started > 30 * 60_000) throw new StackError(`lock ${lock} held too long`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** Installs Debian packages when their commands are missing (needs root and `apt-get`). */
export async function aptInstall(server: string, packages: string[], logFile: string) {
  if (!(await which('apt-get'))) {
    throw new StackError(
      `${server}: ${packages.join(', ')} missing and apt-get is not available; install them or set the server URL in the environment`,
    );
  }
  if (process.getuid && process.getuid() !== 0) {
    throw new StackError(
      `${server}: ${packages.join(', ')} missing; run as root so the stack can apt-get install them, or install them yourself`,
    );
  }
  await withLock('apt', async () => {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // Keep Debian's maintainer scripts from starting system-wide copies of the servers.
    const policy = '/usr/sbin/policy-rc.d';
    const hadPolicy = fs.existsSync(policy);
    if (!hadPolicy) fs.writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    try {
      const stamp = path.join(cacheDir(), 'apt-updated');
      const fresh = fs.existsSync(stamp) && Date.now() - fs.statSync(stamp).mtimeMs < 6 * 3600_000;
      if (!fresh) {
        say(server, 'apt-get update');
        await run('apt-get', ['update'], { logFile, env, what: 'apt-get update' });
        fs.writeFileSync(stamp, new Date().toISOString());
      }
      say(server, `apt-get install ${packages.join(' ')}`);
      await run('apt-get', ['install', '-y', '--no-install-recommends', ...packages], {
        logFile,
        env,
        what: `apt-get install ${packages.join(' ')}`,
      });
    } finally {
      if (!hadPolicy) fs.rmSync(policy, { force: true });
    }
  });
}

export interface MavenArtifact {
  groupId: string;
  artifactId: string;
  version: string;
}

/**
 * Copies the runtime jars of `artifacts` (and everything they depend on) from Maven Central
 * into `outputDir`, through a throw-away pom in `dir` and `mvn dependency:copy-dependencies`
 * (Maven's own ~/.m2 cache makes a second fetch quick). Needs `mvn` on the PATH.
 */
export async function fetchMavenJars(options: {
  server: string;
  dir: string;
  outputDir: string;
  artifacts: MavenArtifact[];
  logFile: string;
  /** What to set instead when Maven is missing, for the error (e.g. KAFKA_BROKERS). */
  urlVariable: string;
}): Promise<string[]> {
  const { server, dir, outputDir, logFile } = options;
  if (!(await which('mvn'))) {
    throw new StackError(
      `${server}: Maven (mvn) is needed to fetch its jars from Maven Central; install maven or set ${options.urlVariable}`,
    );
  }
  ensureDir(dir);
  fs.rmSync(outputDir, { recursive: true, force: true });
  const dependencies = options.artifacts
    .map(
      (a) => `    <dependency>
      <groupId>${a.groupId}</groupId>
      <artifactId>${a.artifactId}</artifactId>
      <version>${a.version}</version>
    </dependency>`,
    )
    .join('\n');
  const pom = path.join(dir, 'pom.xml');
  fs.writeFileSync(
    pom,
    `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by the local stack: the jars ${server} runs from. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.cinema.stack</groupId>
  <artifactId>${server}</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
${dependencies}
  </dependencies>
</project>
`,
  );
  say(
    server,
    `fetching ${options.artifacts.map((a) => `${a.artifactId} ${a.version}`).join(', ')} from Maven Central`,
  );
  await run(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      pom,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${outputDir}`,
      '-DincludeScope=runtime',
    ],
    { logFile, cwd: dir, what: `mvn dependency:copy-dependencies (${server})` },
  );
  return fs.readdirSync(outputDir);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Is something listening on host:port? */
export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** The preferred port when free, otherwise one the kernel hands out. */
export async function pickPort(preferred: number): Promise<number> {
  const free = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        const got = typeof address === 'object' && address ? address.port : undefined;
        server.close(() => resolve(got));
      });
    });
  return (await free(preferred)) ?? (await free(0)) ?? preferred;
}

export interface Supervised {
  child: ChildProcess;
  pid: number;
  logFile: string;
  /** Set once the process has exited, with a description of how. */
  exited?: string;
}

/** Every process spawnServer started in this process, by pid (how it exited, for supervision). */
const spawned = new Map<number, Supervised>();

/** The process of `pid` when this process spawned it with spawnServer. */
export function spawnedProcess(pid: number): Supervised | undefined {
  return spawned.get(pid);
}

/**
 * Starts a long-running server process in its own process group, output to its log file.
 * The process is not detached from the stack's lifetime: `stopProcess` (and the CLI's signal
 * handlers) end it.
 */
export function spawnServer(options: {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile?: string;
}): Supervised {
  const logFile = options.logFile ?? path.join(logDir(), `${options.name}.log`);
  const out = fs.openSync(logFile, 'a');
  fs.writeSync(
    out,
    `\n=== ${new Date().toISOString()} ${options.command} ${options.args.join(' ')}\n`,
  );
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', out, out],
    detached: true,
  });
  fs.closeSync(out);
  if (child.pid === undefined)
    throw new StackError(`${options.name}: could not spawn ${options.command}`, logFile);
  const supervised: Supervised = { child, pid: child.pid, logFile };
  spawned.set(child.pid, supervised);
  child.on('exit', (code, signal) => {
    supervised.exited = signal ? `killed by ${signal}` : `exited with code ${code}`;
  });
  child.on('error', (err) => {
    supervised.exited = `failed to start: ${err.message}`;
  });
  // Do not keep the parent's event loop alive for the server's sake.
  child.unref();
  return supervised;
}

/**
 * Polls `ready` until it answers true. Fails early, with the log tail, when the supervised
 * process exits, and after `timeoutMs`.
 */
export async function waitFor(
  name: string,
  ready: () => Promise<boolean>,
  options: { timeoutMs?: number; process?: Supervised; logFile?: string; intervalMs?: number } = {},
): Promise<void> {
  const timeout = options.timeoutMs ?? 120_000;
  const logFile = options.logFile ?? options.process?.logFile;
  const started = Date.now();
  for (;;) {
    if (options.process?.exited) {
      throw new StackError(`${name} ${options.process.exited} before it was ready`, logFile);
    }
    try {
      if (await ready()) return;
    } catch {
      /* not ready yet */
    }
    if (Date.now() - started > timeout) {
      throw new StackError(`${name} was not ready within ${Math.round(timeout / 1000)} s`, logFile);
    }
    await sleep(options.intervalMs ?? 250);
  }
}

/** SIGTERM to the process group, then SIGKILL after `graceMs`. */
export async function stopPid(pid: number, graceMs = 15_000): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  if (!isAlive(pid)) return;
  signal('SIGTERM');
  const started = Date.now();
  while (isAlive(pid) && Date.now() - started < graceMs) await sleep(100);
  if (isAlive(pid)) signal('SIGKILL');
  while (isAlive(pid) && Date.now() - started < graceMs + 5000) await sleep(100);
}

/** What a started (or found running) server tells the rest of the platform. */
export interface RunningServer {
  name: string;
  /** Version string reported by the server itself. */
  version: string;
  /** Environment variables the services use to reach it, e.g. DATABASE_URL. */
  env: Record<string, string>;
  /** Process id of the server (process group leader), when the stack owns a process. */
  pid?: number;
  logFile?: string;
}

export interface ServerDefinition {
  /** Short name used on the command line and in logs: `postgres`, `kafka`, ... */
  name: string;
  /**
   * The environment variable that points at this server. When it is set, the stack does not
   * start the server and uses the given one instead.
   */
  envKey: string;
  /** Other servers this one needs started first (by name). */
  needs?: string[];
  /**
   * Heavy servers not everyone needs (etcd, kube-apiserver): startStack() skips them unless they
   * are named in `only` (or STACK_SERVERS), or needed by a named server.
   */
  optional?: boolean;
  /** Installs (cached) and starts the server, resolving once it answers. */
  start(env: Record<string, string>): Promise<RunningServer>;
  /** Optional clean stop beyond SIGTERM to the process group (e.g. `rabbitmqctl stop`). */
  stop?(server: RunningServer): Promise<void>;
  /** Optional liveness probe used when reusing a server recorded in the state file. */
  probe?(server: RunningServer): Promise<boolean>;
}
