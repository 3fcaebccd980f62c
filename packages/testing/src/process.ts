/**
 * Runs a program (a service's real entry point, a CLI) in its own process for a test, keeping
 * its output for assertions and for the failure message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { freePort, waitFor } from './net';

export interface RunningProcess {
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Sends `signal` (SIGTERM by default) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface RunOptions {
  cwd?: string;
  /** The child's whole environment (PATH is added when missing). */
  env?: Record<string, string | undefined>;
}

export function runProcess(command: string, args: string[], options: RunOptions = {}) {
  const env = { PATH: process.env.PATH, ...options.env };
  const child = spawn(command, args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const running: RunningProcess = {
    child,
    exited,
    output: () => output,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  return running;
}

/** The repository's `tsx`, to run a service's TypeScript entry point without a build. */
export const TSX = path.resolve(__dirname, '../../../node_modules/.bin/tsx');

/** Which entry point of a service runs, and how. */
export interface EntryPoint {
  /** Relative to the service's folder: `src/main.ts` by default, `dist/main.js` for the build. */
  main?: string;
  /**
   * Node's options before it: `--import tsx` by default; e.g. `['--require',
   * '@cinema/telemetry/register']` to run the build as the platform does.
   */
  nodeArgs?: string[];
}

/**
 * Runs `src/main.ts` (or `entry.main`) of the service in `serviceDir`, in that folder, with the
 * given environment: `node --import tsx`, so signals reach the service's own process (the `tsx`
 * command runs it as a child and kills it when it does not acknowledge a relayed signal within
 * 30 ms, which a loaded machine turns into an exit 143 instead of the graceful exit 0 under test).
 */
export function runServiceMain(
  serviceDir: string,
  env: Record<string, string | undefined>,
  args: string[] = [],
  entry: EntryPoint = {},
): RunningProcess {
  const nodeArgs = entry.nodeArgs ?? ['--import', 'tsx'];
  return runProcess(process.execPath, [...nodeArgs, entry.main ?? 'src/main.ts', ...args], {
    cwd: serviceDir,
    env,
  });
}

export interface ServiceProcess extends RunningProcess {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
}

/**
 * Starts a service by its real entry point (`runServiceMain`, `src/main.ts` unless `options.main`
 * names another) on `port` (a free one by default), on loopback, logging warnings only and with
 * a short shutdown timeout unless `env` says otherwise, and waits until its `/readyz` answers
 * 200. Fails with the service's output when it exits first or is not ready within `readyMs`.
 */
export async function startServiceMain(
  serviceDir: string,
  env: Record<string, string | undefined>,
  options: { port?: number; readyMs?: number } & EntryPoint = {},
): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort());
  const running = runServiceMain(
    serviceDir,
    {
      HOME: process.env.HOME,
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '5000',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    [],
    options,
  );
  const url = `http://127.0.0.1:${port}`;
  const name = path.basename(serviceDir);
  let settled = false;
  const exitedFirst = new Promise<never>((_resolve, reject) => {
    void running.exited.then((code) => {
      if (!settled)
        reject(new Error(`${name} exited (${code}) before it was ready:\n${running.output()}`));
    });
  });
  try {
    await Promise.race([
      waitFor(
        async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.ok,
        options.readyMs ?? 120_000,
        `${name} ready`,
      ),
      exitedFirst,
    ]);
  } catch (err) {
    await running.stop('SIGKILL');
    throw err;
  } finally {
    settled = true;
  }
  return { ...running, url, port };
}
