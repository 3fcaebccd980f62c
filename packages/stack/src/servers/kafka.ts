import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import {
  cacheDir,
  dataDir,
  ensureDir,
  fetchMavenJars,
  logDir,
  pickPort,
  run,
  say,
  spawnServer,
  StackError,
  stopPid,
  waitFor,
  which,
  withLock,
  type RunningServer,
  type ServerDefinition,
} from '../core';

/**
 * Apache Kafka, one KRaft node (broker and controller in one JVM), from the broker jars on
 * Maven Central (`org.apache.kafka:kafka_2.13`), fetched once with Maven into the cache.
 *
 * Pinned to 3.9.x, not 4.x: Kafka 4 removed the old protocol versions that kafkajs 2.2.4 speaks
 * (e.g. Produce v0-v2, Fetch v0-v3, the old ListOffsets), so the services' client could not talk
 * to it. 3.9 still logs through slf4j 1.7, hence the slf4j-reload4j binding.
 *
 * The controller quorum is the static `controller.quorum.voters` kind (not `--standalone`), so
 * the controller port may differ from one start to the next without reformatting the storage.
 */
const KAFKA_VERSION = '3.9.2';
const SCALA = '2.13';
const SLF4J_VERSION = '1.7.36';

function home(): string {
  return path.join(cacheDir(), `kafka-${KAFKA_VERSION}`);
}

/** Fetches the broker jars into `<cache>/kafka-<version>/libs` once (marker file `.installed`). */
async function install(logFile: string): Promise<string> {
  const dir = home();
  const marker = path.join(dir, '.installed');
  if (fs.existsSync(marker)) return dir;
  return withLock(`kafka-${KAFKA_VERSION}`, async () => {
    if (fs.existsSync(marker)) return dir;
    const libs = path.join(dir, 'libs');
    const jars = await fetchMavenJars({
      server: 'kafka',
      dir,
      outputDir: libs,
      logFile,
      urlVariable: 'KAFKA_BROKERS',
      artifacts: [
        { groupId: 'org.apache.kafka', artifactId: `kafka_${SCALA}`, version: KAFKA_VERSION },
        { groupId: 'org.slf4j', artifactId: 'slf4j-reload4j', version: SLF4J_VERSION },
      ],
    });
    const otherScala = jars.filter(
      (j) => /_2\.1[0-2]-/.test(j) || /^scala-library-2\.1[0-2]\./.test(j),
    );
    if (otherScala.length > 0) {
      throw new StackError(
        `kafka: Scala versions mixed in ${libs}: ${otherScala.join(', ')}`,
        logFile,
      );
    }
    if (!jars.some((j) => j.startsWith(`kafka_${SCALA}-`))) {
      throw new StackError(`kafka: kafka_${SCALA} jar missing from ${libs}`, logFile);
    }
    fs.writeFileSync(marker, `${new Date().toISOString()}\n`);
    return dir;
  });
}

const log4jProperties = `# Written by the local stack: everything to stdout (the stack's kafka.log).
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.controller=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
`;

/**
 * An optional second listener for clients that reach the broker under another name (the pods of
 * the stack's node, through its relay): STACK_KAFKA_CLUSTER_LISTENER="<port> <advertised host:port>".
 * The broker answers each client with the addresses of the listener it came in on.
 */
function clusterListener(): { port: number; advertised: string } | undefined {
  const spec = process.env.STACK_KAFKA_CLUSTER_LISTENER?.trim();
  if (!spec) return undefined;
  const parts = spec.split(/\s+/);
  const [port, advertised] = parts;
  if (parts.length !== 2 || !/^\d+$/.test(port ?? '') || !/^[\w.-]+:\d+$/.test(advertised ?? ''))
    throw new StackError(
      `kafka: STACK_KAFKA_CLUSTER_LISTENER is not "<port> <host:port>": ${spec}`,
    );
  return { port: Number(port), advertised: advertised! };
}

export function serverProperties(port: number, controllerPort: number, logDirs: string): string {
  const cluster = clusterListener();
  return `# Written by the local stack at each start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${cluster ? `,CLUSTER://127.0.0.1:${cluster.port}` : ''}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}${cluster ? `,CLUSTER://${cluster.advertised}` : ''}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,CLUSTER:PLAINTEXT
log.dirs=${logDirs}
num.partitions=1
auto.create.topics.enable=true
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
`;
}

function javaArgs(dir: string, log4jFile: string): string[] {
  return [
    '-Xms256m',
    '-Xmx512m',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${log4jFile}`,
    `-Dkafka.logs.dir=${path.join(dataDir('kafka'), 'server-logs')}`,
    '-cp',
    `${path.join(dir, 'libs')}/*`,
  ];
}

function admin(brokers: string) {
  return new Kafka({
    clientId: 'stack-probe',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
  }).admin();
}

async function answers(brokers: string): Promise<boolean> {
  const client = admin(brokers);
  try {
    await client.connect();
    await client.listTopics();
    return true;
  } finally {
    await client.disconnect().catch(() => undefined);
  }
}

/** What the log file got since byte offset `from`. */
function logSince(logFile: string, from: number): string {
  try {
    return fs.readFileSync(logFile).subarray(from).toString('utf8');
  } catch {
    return '';
  }
}

/**
 * Starts the broker and waits until it answers. The probe only connects once the broker has
 * logged that it listens: connecting over and over to a closed port in the ephemeral range
 * (as a fallback port from the kernel may be) can end in a TCP self-connect that then holds the port.
 * Should the port be taken anyway between pickPort and the bind, one more try on a port the
 * kernel hands out.
 */
async function launch(
  dir: string,
  properties: string,
  log4jFile: string,
  logFile: string,
  port: number,
  controllerPort: number,
  logDirs: string,
): Promise<{ address: string; pid: number; logStart: number }> {
  for (let attempt = 1; ; attempt++) {
    fs.writeFileSync(properties, serverProperties(port, controllerPort, logDirs));
    const logStart = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
    const proc = spawnServer({
      name: 'kafka',
      command: 'java',
      args: [...javaArgs(dir, log4jFile), 'kafka.Kafka', properties],
      logFile,
    });
    const address = `127.0.0.1:${port}`;
    try {
      await waitFor(
        'kafka',
        async () =>
          logSince(logFile, logStart).includes(`Awaiting socket connections on ${address}.`) &&
          answers(address),
        { process: proc, timeoutMs: 120_000, intervalMs: 500 },
      );
      return { address, pid: proc.pid, logStart };
    } catch (err) {
      await stopPid(proc.pid);
      const bindFailed = /Address already in use/.test(logSince(logFile, logStart));
      if (!bindFailed || attempt >= 2) throw err;
      say('kafka', `port ${port} or ${controllerPort} was taken meanwhile; trying other ports`);
      port = await pickPort(0);
      controllerPort = await pickPort(0);
    }
  }
}

/**
 * A KRaft cluster id: 16 random bytes, base64url without padding, as Kafka's own
 * `Uuid.randomUuid()` draws it, and like it drawn again when the text starts with `-` (1 draw in
 * 64): `kafka-storage format -t -dk2g...` reads such an id as an option and fails.
 */
export function clusterId(random: (size: number) => Buffer = crypto.randomBytes): string {
  for (;;) {
    const bytes = random(16);
    const id = bytes.toString('base64url');
    if (!id.startsWith('-') && bytes.some((b) => b !== 0)) return id;
  }
}

export const kafka: ServerDefinition = {
  name: 'kafka',
  envKey: 'KAFKA_BROKERS',
  async start(): Promise<RunningServer> {
    const logFile = path.join(logDir(), 'kafka.log');
    if (!(await which('java'))) {
      throw new StackError(
        'kafka: java is needed (Java 17 or later); install a JDK or set KAFKA_BROKERS',
      );
    }
    const dir = await install(logFile);
    const port = await pickPort(Number(process.env.STACK_KAFKA_PORT ?? 29092));
    let controllerPort = await pickPort(port + 1);
    if (controllerPort === port) controllerPort = await pickPort(0);

    const data = dataDir('kafka');
    const logDirs = ensureDir(path.join(data, 'kraft'));
    const properties = path.join(data, 'server.properties');
    const log4jFile = path.join(data, 'log4j.properties');
    fs.writeFileSync(properties, serverProperties(port, controllerPort, logDirs));
    fs.writeFileSync(log4jFile, log4jProperties);

    if (!fs.existsSync(path.join(logDirs, 'meta.properties'))) {
      say('kafka', 'formatting KRaft storage');
      await run(
        'java',
        [
          ...javaArgs(dir, log4jFile),
          'kafka.tools.StorageTool',
          'format',
          '-t',
          clusterId(),
          '-c',
          properties,
          '--ignore-formatted',
        ],
        { logFile, what: 'kafka storage format' },
      );
    }

    const brokers = await launch(
      dir,
      properties,
      log4jFile,
      logFile,
      port,
      controllerPort,
      logDirs,
    );
    const started = logSince(logFile, brokers.logStart);
    // The broker's own version, from its "Kafka version: x" log line.
    const version = /Kafka version: (\S+)/.exec(started)?.[1] ?? KAFKA_VERSION;
    return {
      name: 'kafka',
      version: `Kafka ${version} (KRaft)`,
      env: { KAFKA_BROKERS: brokers.address },
      pid: brokers.pid,
      logFile,
    };
  },
  async probe(server) {
    return answers(server.env.KAFKA_BROKERS!);
  },
};
