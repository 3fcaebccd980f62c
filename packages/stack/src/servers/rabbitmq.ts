import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  aptInstall,
  capture,
  dataDir,
  ensureDir,
  isAlive,
  logDir,
  pickPort,
  sleep,
  spawnServer,
  StackError,
  waitFor,
  which,
  type RunningServer,
  type ServerDefinition,
} from '../core';

/**
 * RabbitMQ from Debian's `rabbitmq-server` package, run in the foreground as our own node
 * (`cinema@localhost`) with everything (mnesia, logs, config, plugins file, Erlang cookie) under
 * the stack's data folder, listening on loopback only.
 *
 * So as not to clash with a system RabbitMQ (epmd on 4369, node `rabbit`, distribution on
 * 25672) the node registers with a private epmd on its own port, which we start in the same
 * process group before the broker: stopping the group leaves neither beam nor epmd behind.
 * (Had Erlang started epmd itself, it would have daemonised out of our reach.)
 */

const SCRIPTS = '/usr/lib/rabbitmq/bin';
const NODE = 'cinema@localhost';

interface Ports {
  amqp: number;
  dist: number;
  epmd: number;
}

function home(): string {
  return dataDir('rabbitmq');
}

/** Environment of the broker and of rabbitmqctl. */
function rabbitEnv(ports: Pick<Ports, 'epmd'> & Partial<Ports>): NodeJS.ProcessEnv {
  const base = home();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: base, // the Erlang cookie lives in $HOME/.erlang.cookie
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    RABBITMQ_NODENAME: NODE,
    RABBITMQ_USE_LONGNAME: 'false',
    RABBITMQ_CONF_ENV_FILE: path.join(base, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: path.join(base, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(base, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(base, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: ensureDir(path.join(base, 'mnesia')),
    RABBITMQ_LOG_BASE: ensureDir(path.join(base, 'log')),
    ERL_EPMD_PORT: String(ports.epmd),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  delete env.RABBITMQ_NODE_PORT;
  delete env.RABBITMQ_NODE_IP_ADDRESS;
  if (ports.dist !== undefined) {
    env.RABBITMQ_DIST_PORT = String(ports.dist);
    env.RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS = '-kernel inet_dist_use_interface {127,0,0,1}';
  }
  return env;
}

function portsOf(server: RunningServer): Ports {
  const meta = (server as RunningServer & { rabbitmq?: Ports }).rabbitmq;
  if (meta) return meta;
  // Fallback: read what start() wrote next to the data.
  return JSON.parse(fs.readFileSync(path.join(home(), 'ports.json'), 'utf8')) as Ports;
}

async function connectOnce(url: string): Promise<string> {
  const amqp = await import('amqplib');
  const conn = await amqp.connect(url, { timeout: 3000 });
  try {
    const props = conn.connection.serverProperties;
    return `${props.product ?? 'RabbitMQ'} ${props.version ?? '?'}`;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

async function rabbitmqctl(ports: Ports, args: string[], timeoutS = 30): Promise<string> {
  return capture(
    path.join(SCRIPTS, 'rabbitmqctl'),
    ['-n', NODE, '--timeout', String(timeoutS), ...args],
    rabbitEnv(ports),
  );
}

export const rabbitmq: ServerDefinition = {
  name: 'rabbitmq',
  envKey: 'AMQP_URL',
  async start() {
    const logFile = path.join(logDir(), 'rabbitmq.log');
    if (!fs.existsSync(path.join(SCRIPTS, 'rabbitmq-server')) || !(await which('epmd'))) {
      await aptInstall('rabbitmq', ['rabbitmq-server'], logFile);
    }
    const amqp = await pickPort(Number(process.env.STACK_RABBITMQ_PORT ?? 25672));
    // The default distribution port (AMQP + 20000) would be past 65535 here.
    const dist = await pickPort(Number(process.env.STACK_RABBITMQ_DIST_PORT ?? 25682));
    const epmd = await pickPort(Number(process.env.STACK_RABBITMQ_EPMD_PORT ?? 24369));
    const ports: Ports = { amqp, dist, epmd };
    const base = home();
    fs.writeFileSync(path.join(base, 'ports.json'), JSON.stringify(ports));
    fs.writeFileSync(
      path.join(base, 'rabbitmq.conf'),
      [
        `listeners.tcp.default = 127.0.0.1:${amqp}`,
        'loopback_users.guest = true',
        'log.console = true',
        'log.console.level = info',
        'log.file.level = info',
        'disk_free_limit.absolute = 50MB',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(path.join(base, 'enabled_plugins'), '[].\n');
    fs.writeFileSync(
      path.join(base, 'rabbitmq-env.conf'),
      '# settings come from the environment\n',
    );
    fs.rmSync(path.join(base, 'advanced.config'), { force: true });

    const env = rabbitEnv(ports);
    // Our epmd first (in the foreground, so it stays in the process group), then the broker.
    const script = [
      `epmd -port ${epmd} -address 127.0.0.1 &`,
      'i=0',
      `until epmd -port ${epmd} -names >/dev/null 2>&1; do`,
      '  i=$((i+1)); [ $i -gt 100 ] && { echo "epmd did not start" >&2; exit 1; }',
      '  sleep 0.1',
      'done',
      `exec ${SCRIPTS}/rabbitmq-server`,
    ].join('\n');
    const proc = spawnServer({
      name: 'rabbitmq',
      command: '/bin/sh',
      args: ['-c', script],
      env,
      cwd: base,
      logFile,
    });
    const url = `amqp://guest:guest@127.0.0.1:${amqp}`;
    let version = '';
    await waitFor(
      'rabbitmq',
      async () => {
        version = await connectOnce(url);
        return true;
      },
      { process: proc, timeoutMs: 120_000, intervalMs: 500 },
    );
    const server: RunningServer & { rabbitmq: Ports } = {
      name: 'rabbitmq',
      version,
      env: { AMQP_URL: url },
      pid: proc.pid,
      logFile,
      rabbitmq: ports,
    };
    return server;
  },
  /** `rabbitmqctl stop`, then the process group (our epmd) is signalled. */
  async stop(server) {
    const pid = server.pid;
    let ports: Ports | undefined;
    try {
      ports = portsOf(server);
    } catch {
      /* signals only */
    }
    if (ports && pid !== undefined && isAlive(pid)) {
      try {
        await rabbitmqctl(ports, ['stop'], 60);
      } catch (err) {
        throw new StackError(`rabbitmqctl stop failed: ${(err as Error).message}`);
      } finally {
        if (pid !== undefined) {
          // The broker is gone (or failed to stop): end what is left of the group (epmd).
          const started = Date.now();
          while (isAlive(pid) && Date.now() - started < 15_000) await sleep(100);
          try {
            process.kill(-pid, 'SIGTERM');
          } catch {
            /* nothing left */
          }
        }
      }
    } else if (pid !== undefined) {
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        /* nothing left */
      }
    }
  },
  async probe(server) {
    await connectOnce(server.env.AMQP_URL!);
    return true;
  },
};
