#!/usr/bin/env node
/**
 * Command line of the local stack.
 *
 *   stack up [server ...]     start servers (all by default), supervised, until Ctrl-C
 *   stack down                stop every server recorded in .stack/state.json
 *   stack status              what runs, with versions, pids, restarts and logs
 *   stack env                 `export KEY='value'` lines: eval "$(npm run -s stack -- env)"
 *   stack restart <name>      restart one supervised service or server (or a recorded server)
 *   stack start-platform      servers + demo data + every built service (supervised) + gateway
 *                             routes and landing page; Ctrl-C stops all
 *   stack node up|down|status a single Kubernetes node on the recorded kube-apiserver (node.ts,
 *                             docs/node.md); `node images` imports the built service images
 */
import {
  isAlive,
  recordedServers,
  restartRecorded,
  serverNames,
  startStack,
  stackHome,
  stopAll,
  sleep,
  StackError,
} from './index';
import { nodeCommand } from './node-cli';
import { startPlatform, superviseServers } from './platform';
import { discoverServices } from './services';
import { shellExports } from './shell';
import { readSupervisors, requestRestart, Supervisor, type UnitStatus } from './supervisor';

export { discoverServices };

function restartsOf(units: UnitStatus[], name: string): UnitStatus | undefined {
  return units.find((u) => u.name === name);
}

function describe(u: UnitStatus): string {
  const last = u.lastExit ? `  last exit: ${u.lastExit} at ${u.lastExitAt}` : '';
  return `restarts ${u.restarts}${last}`;
}

async function status(): Promise<void> {
  const servers = recordedServers();
  const supervisors = readSupervisors();
  const units = supervisors.flatMap((s) => s.units);
  if (!servers.length && !units.length) process.stdout.write('no servers running\n');
  for (const s of servers) {
    const alive = s.pid === undefined || isAlive(s.pid);
    const unit = restartsOf(units, s.name);
    process.stdout.write(
      `${s.name.padEnd(14)} ${alive ? 'up  ' : 'DEAD'} pid ${String(s.pid ?? '-').padEnd(8)} ${s.version}  ${s.logFile ?? ''}` +
        (unit ? `\n${''.padEnd(19)} ${describe(unit)}` : '') +
        '\n',
    );
  }
  const services = units.filter((u) => u.kind === 'service');
  if (services.length) process.stdout.write('\nservices:\n');
  for (const u of services) {
    process.stdout.write(
      `${u.name.padEnd(14)} ${u.state.padEnd(10)} pid ${String(u.pid ?? '-').padEnd(8)} ${describe(u)}  ${u.logFile ?? ''}\n`,
    );
  }
  for (const s of supervisors) {
    process.stdout.write(`\nsupervisor pid ${s.pid} since ${s.startedAt}\n`);
  }
}

/** Restarts one unit through the supervisor that owns it, or a recorded server in place. */
async function restart(name: string | undefined): Promise<void> {
  if (!name) throw new StackError('usage: stack restart <service or server name>');
  const before = restartsOf(
    readSupervisors().flatMap((s) => s.units),
    name,
  );
  if (requestRestart(name)) {
    process.stderr.write(`[stack] asked the supervisor to restart ${name}\n`);
    const deadline = Date.now() + 180_000;
    for (;;) {
      await sleep(300);
      const now = restartsOf(
        readSupervisors().flatMap((s) => s.units),
        name,
      );
      if (!now) throw new StackError(`${name}: its supervisor is gone`);
      if (now.restarts > (before?.restarts ?? 0) && now.state === 'up') {
        process.stdout.write(
          `${name} restarted (pid ${now.pid ?? '-'}, restarts ${now.restarts})\n`,
        );
        return;
      }
      if (Date.now() > deadline) {
        throw new StackError(`${name} was not up again within 180 s (${now.state})`, now.logFile);
      }
    }
  }
  if (recordedServers().some((s) => s.name === name)) {
    const server = await restartRecorded(name);
    process.stdout.write(
      `${name} restarted (pid ${server.pid ?? '-'}); no supervisor watches it\n`,
    );
    return;
  }
  const known = [
    ...recordedServers().map((s) => s.name),
    ...readSupervisors().flatMap((s) => s.units.map((u) => u.name)),
  ];
  throw new StackError(
    `${name} is neither supervised nor a recorded server in ${stackHome()}` +
      (known.length ? `; running: ${[...new Set(known)].join(', ')}` : '; nothing runs'),
  );
}

async function main(argv: string[]): Promise<void> {
  const [command = 'help', ...rest] = argv;
  switch (command) {
    case 'up': {
      // Servers named on the command line, else in STACK_SERVERS (as for the tests), else all.
      const named = rest.length
        ? rest
        : process.env.STACK_SERVERS?.split(',')
            .map((s) => s.trim())
            .filter(Boolean);
      const stack = await startStack({ only: named?.length ? named : undefined });
      const supervisor = new Supervisor();
      superviseServers(stack, supervisor);
      process.stdout.write(
        `${Object.entries(stack.env)
          .map(([k, v]) => `${k}=${v}`)
          .join('\n')}\n\nStack is up. Ctrl-C stops it.\n`,
      );
      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        await supervisor.stop([]);
        await stack.stop();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
      setInterval(() => undefined, 1 << 30);
      return;
    }
    case 'down':
      await stopAll();
      return;
    case 'status':
      await status();
      return;
    case 'env':
      process.stdout.write(
        shellExports(
          Object.assign({}, ...recordedServers().map((s) => s.env)) as Record<string, string>,
        ),
      );
      return;
    case 'restart':
      await restart(rest[0]);
      return;
    case 'start-platform':
      await startPlatform();
      return;
    case 'node':
      await nodeCommand(rest);
      return;
    default:
      process.stdout.write(
        `usage: stack up [${serverNames().join('|')} ...] | down | status | env | restart <name> | start-platform | node up|down|status|images\n`,
      );
      if (command !== 'help') process.exitCode = 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(
      `${err instanceof StackError ? err.message : (err.stack ?? String(err))}\n`,
    );
    process.exit(1);
  });
}
