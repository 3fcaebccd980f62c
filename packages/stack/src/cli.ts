#!/usr/bin/env node
/**
 * Command line of the local stack.
 *
 *   stack up [server ...]     start servers (all by default) and keep them until Ctrl-C
 *   stack down                stop every server recorded in .stack/state.json
 *   stack status              what runs, with versions, pids and logs
 *   stack env                 KEY=value lines for the running stack (eval-able)
 *   stack start-platform      servers + every built service + gateway routes; Ctrl-C stops all
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  isAlive,
  logDir,
  recordedServers,
  repoRoot,
  serverNames,
  spawnServer,
  startStack,
  stopAll,
  stopPid,
  waitFor,
  StackError,
  type Supervised,
} from './index';

interface ServiceManifest {
  name: string;
  dir: string;
  /** Default port; PORT is set from it. */
  port: number;
  /** Node flags the service starts with (`cinema.nodeArgs`), e.g. GC sizing. */
  nodeArgs: string[];
  /** Environment defaults of the service (`cinema.env`), e.g. allocator settings; the caller's
   *  environment wins. */
  env: Record<string, string>;
  /** Path prefixes the gateway routes to this service. */
  routes: string[];
}

/** Services are the workspaces under services/ with a built main and a `cinema` manifest. */
export function discoverServices(root = repoRoot()): ServiceManifest[] {
  const dir = path.join(root, 'services');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((name) => path.join(dir, name))
    .filter((d) => fs.existsSync(path.join(d, 'package.json')))
    .flatMap((d) => {
      const pkg = JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8')) as {
        cinema?: {
          port: number;
          routes?: string[];
          nodeArgs?: string[];
          env?: Record<string, string>;
        };
      };
      if (!pkg.cinema) return [];
      return [
        {
          name: path.basename(d),
          dir: d,
          port: pkg.cinema.port,
          routes: pkg.cinema.routes ?? [],
          nodeArgs: pkg.cinema.nodeArgs ?? [],
          env: pkg.cinema.env ?? {},
        },
      ];
    })
    .sort((a, b) => a.port - b.port);
}

/** `catalog-api` → `CATALOG_API_URL`, so services find each other. */
function urlVariable(service: string): string {
  return `${service.toUpperCase().replace(/-/g, '_')}_URL`;
}

async function startPlatform(): Promise<void> {
  const stack = await startStack();
  const services = discoverServices();
  const children: Array<{ svc: ServiceManifest; proc: Supervised }> = [];
  let stopping = false;
  const stopEverything = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('\n[platform] stopping services\n');
    await Promise.all(children.reverse().map(({ proc }) => stopPid(proc.pid, 12_000)));
    await stack.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stopEverything(0));
  process.on('SIGTERM', () => void stopEverything(0));

  const serviceUrls = Object.fromEntries(
    services.map((s) => [urlVariable(s.name), `http://127.0.0.1:${s.port}`]),
  );
  const telemetry = require.resolve('@cinema/telemetry/register');
  for (const svc of services) {
    const main = path.join(svc.dir, 'dist', 'main.js');
    if (!fs.existsSync(main)) {
      process.stderr.write(`[platform] ${svc.name}: not built (${main} missing), skipped\n`);
      continue;
    }
    const proc = spawnServer({
      name: `service-${svc.name}`,
      command: process.execPath,
      args: [...svc.nodeArgs, '--require', telemetry, main],
      cwd: svc.dir,
      env: {
        ...svc.env,
        ...process.env,
        ...stack.env,
        ...serviceUrls,
        PORT: String(svc.port),
        OTEL_SERVICE_NAME: svc.name,
      },
    });
    children.push({ svc, proc });
  }
  for (const { svc, proc } of children) {
    try {
      await waitFor(
        svc.name,
        async () => (await fetch(`http://127.0.0.1:${svc.port}/healthz`)).ok,
        { process: proc, timeoutMs: 60_000 },
      );
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`);
      await stopEverything(1);
      return;
    }
  }
  const gateway = stack.env.GATEWAY_URL;
  if (gateway) {
    const nginx = (await import('./servers/nginx')) as {
      writeGatewayRoutes?: (routes: Array<{ prefix: string; upstream: string }>) => Promise<void>;
    };
    await nginx.writeGatewayRoutes?.(
      children.flatMap(({ svc }) =>
        svc.routes.map((prefix) => ({ prefix, upstream: `http://127.0.0.1:${svc.port}` })),
      ),
    );
  }

  const lines = [
    '',
    'Cinema platform is running. Ctrl-C stops everything.',
    '',
    'Servers:',
    ...stack.servers.map((s) => `  ${s.name.padEnd(14)} ${s.version}`),
    '',
    'Environment:',
    ...Object.entries(stack.env).map(([k, v]) => `  ${k}=${v}`),
    '',
    'Services:',
    ...(children.length
      ? children.map(
          ({ svc }) =>
            `  ${svc.name.padEnd(14)} http://127.0.0.1:${svc.port}  (docs: /docs, health: /healthz, log: ${path.join(logDir(), `service-${svc.name}.log`)})`,
        )
      : ['  (none built yet)']),
    ...(gateway ? ['', `Gateway: ${gateway}`] : []),
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  // Stay up; fail loudly if a service dies.
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const dead = children.find(({ proc }) => proc.exited);
    if (dead) {
      process.stderr.write(
        `${new StackError(`${dead.svc.name} ${dead.proc.exited}`, dead.proc.logFile).message}\n`,
      );
      await stopEverything(1);
      return;
    }
  }
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
      process.stdout.write(
        `${Object.entries(stack.env)
          .map(([k, v]) => `${k}=${v}`)
          .join('\n')}\n\nStack is up. Ctrl-C stops it.\n`,
      );
      const stop = async () => {
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
    case 'status': {
      const servers = recordedServers();
      if (!servers.length) process.stdout.write('no servers running\n');
      for (const s of servers) {
        const alive = s.pid === undefined || isAlive(s.pid);
        process.stdout.write(
          `${s.name.padEnd(14)} ${alive ? 'up  ' : 'DEAD'} pid ${String(s.pid ?? '-').padEnd(8)} ${s.version}  ${s.logFile ?? ''}\n`,
        );
      }
      return;
    }
    case 'env':
      for (const s of recordedServers()) {
        for (const [k, v] of Object.entries(s.env)) process.stdout.write(`${k}=${v}\n`);
      }
      return;
    case 'start-platform':
      await startPlatform();
      return;
    default:
      process.stdout.write(
        `usage: stack up [${serverNames().join('|')} ...] | down | status | env | start-platform\n`,
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
