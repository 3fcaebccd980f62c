/**
 * A private copy of one of the stack's servers (fault tests stop and restart it without
 * disturbing the shared one): started and stopped by the same definition with `STACK_HOME` and
 * the server's own port variables set for the call only, so its data, logs and ports are its own.
 */
import { stopPid, type RunningServer } from './core';
import { servers } from './servers';

function definition(name: string) {
  const def = servers.find((s) => s.name === name);
  if (!def) throw new Error(`unknown server ${name}`);
  return def;
}

async function withEnv<T>(vars: Record<string, string>, run: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await run();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export function startPrivateServer(
  name: string,
  home: string,
  env: Record<string, string> = {},
): Promise<RunningServer> {
  return withEnv({ STACK_HOME: home, ...env }, () => definition(name).start({}));
}

/** Stops it as the stack does (the definition's clean stop, then signals). */
export function stopPrivateServer(home: string, server: RunningServer): Promise<void> {
  return withEnv({ STACK_HOME: home }, async () => {
    try {
      await definition(server.name).stop?.(server);
    } finally {
      if (server.pid !== undefined) await stopPid(server.pid);
    }
  });
}
