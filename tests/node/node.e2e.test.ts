/**
 * The platform on a real Kubernetes node of this machine (packages/stack/src/node.ts): an etcd,
 * kube-apiserver and Kafka of this file's own (private STACK_HOME), kubelet + containerd +
 * kube-proxy + scheduler + controller-manager + CoreDNS, the service images (npm run images)
 * imported into containerd, the infrastructure of the local stack named by Services without
 * selectors (EndpointSlices on the node's relay), the Secrets the operators would make filled
 * from the local stack; then `helm install` of charts/cinema until every pod is Ready, and
 * `helm test`. The operator runs as a pod with its chart's RBAC and reconciles a CinemaPlatform.
 *
 * Slow (several minutes) and root only: runs when CINEMA_NODE_TEST=1, otherwise (or on a machine
 * that cannot) it skips with the reason printed. See docs/node.md.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import {
  buildImages,
  imageServices,
  kubeTools,
  loopbackPorts,
  NODE,
  nodeUnsupported,
  importServiceImages,
  startNode,
  startStack,
  type RunningNode,
  type Stack,
} from '@cinema/stack';
import { suffix } from '@cinema/testing';
import { CHARTS, exec, operatorCrds, ROOT } from '../k8s/support';

const why = (() => {
  if (process.env.CINEMA_NODE_TEST !== '1')
    return 'CINEMA_NODE_TEST=1 is not set (about 3 minutes once built, root only)';
  return nodeUnsupported();
})();
if (why)
  console.warn(
    `\n*** SKIPPED: the node test (tests/node/node.e2e.test.ts): ${why}. The charts were NOT installed on a node. ***\n`,
  );
const describeNode = why ? describe.skip : describe;

const NAMESPACE = 'cinema';
const RELEASE = 'cinema';

/** The chart's infrastructure names -> the local stack's server (an env variable's port). */
function infrastructure(
  kafkaClusterPort: number,
): Array<{ name: string; port: number; to: number }> {
  const port = (variable: string) => {
    const value = process.env[variable];
    if (!value) throw new Error(`${variable} is not set (the local stack's env)`);
    const match = /:(\d+)(?:\/|$)/.exec(value.split(',')[0]!);
    return Number(match![1]);
  };
  return [
    { name: 'cinema-postgres-rw', port: 5432, to: port('DATABASE_URL') },
    { name: 'cinema-rabbitmq', port: 5672, to: port('AMQP_URL') },
    { name: 'cinema-redis', port: 6379, to: port('REDIS_URL') },
    { name: 'cinema-auth-redis', port: 6379, to: port('REDIS_URL') },
    { name: 'cinema-es-http', port: 9200, to: port('ELASTICSEARCH_URL') },
    { name: 'cinema-mongodb-svc', port: 27017, to: port('MONGODB_URL') },
    { name: 'cinema-kafka-kafka-bootstrap', port: 9092, to: kafkaClusterPort },
    ...(process.env.OTEL_EXPORTER_OTLP_ENDPOINT
      ? [{ name: 'cinema-jaeger-collector', port: 4318, to: port('OTEL_EXPORTER_OTLP_ENDPOINT') }]
      : []),
    ...(process.env.JAEGER_URL
      ? [{ name: 'cinema-jaeger-query', port: 16686, to: port('JAEGER_URL') }]
      : []),
  ];
}

/** Selector-less Services and their EndpointSlices on the node's relay (same port number). */
function infrastructureObjects(items: Array<{ name: string; port: number; to: number }>) {
  return items.flatMap(({ name, port, to }) => [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: NAMESPACE },
      spec: { ports: [{ name: 'tcp', port, targetPort: to, protocol: 'TCP' }] },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${name}-stack`,
        namespace: NAMESPACE,
        labels: { 'kubernetes.io/service-name': name },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [NODE.address], conditions: { ready: true } }],
      ports: [{ name: 'tcp', port: to, protocol: 'TCP' }],
    },
  ]);
}

function secretObject(name: string, data: Record<string, string>) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: NAMESPACE },
    stringData: data,
  };
}

describeNode('the platform on a single Kubernetes node (kubelet + containerd)', () => {
  jest.setTimeout(40 * 60_000);
  const database = `node_${suffix()}`;
  const savedEnv = {
    STACK_HOME: process.env.STACK_HOME,
    STACK_ETCD_PORT: process.env.STACK_ETCD_PORT,
    STACK_KUBE_APISERVER_PORT: process.env.STACK_KUBE_APISERVER_PORT,
    STACK_KAFKA_PORT: process.env.STACK_KAFKA_PORT,
    STACK_KAFKA_CLUSTER_LISTENER: process.env.STACK_KAFKA_CLUSTER_LISTENER,
  };
  // Made in beforeAll: a skipped describe still runs this body (and left empty folders).
  let home = '';
  const timings: Record<string, number> = {};
  let stack: Stack | undefined;
  let node: RunningNode | undefined;
  let helm = '';
  let kubeconfig = '';
  let installed = false;

  const timed = async <T>(name: string, what: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await what();
    } finally {
      timings[name] = Math.round((Date.now() - started) / 100) / 10;
    }
  };
  const helmRun = (args: string[]) =>
    exec(helm, [...args, '--kubeconfig', kubeconfig], { env: process.env });
  const kubectl = (args: string[], input?: string) => node!.kubectl(args, input);

  /** Pods that are not Ready, with their waiting/terminated reasons (for failure messages). */
  async function podReport(): Promise<string> {
    const pods = JSON.parse(await kubectl(['get', 'pods', '-n', NAMESPACE, '-o', 'json'])) as {
      items: Array<{
        metadata: { name: string };
        status: {
          phase: string;
          conditions?: Array<{ type: string; status: string }>;
          containerStatuses?: Array<{
            name: string;
            ready: boolean;
            restartCount: number;
            state: Record<string, { reason?: string; message?: string; exitCode?: number }>;
          }>;
        };
      }>;
    };
    return pods.items
      .map((p) => {
        const states = (p.status.containerStatuses ?? [])
          .map(
            (c) =>
              `${c.name} ready=${c.ready} restarts=${c.restartCount} ${JSON.stringify(c.state)}`,
          )
          .join('; ');
        return `${p.metadata.name} ${p.status.phase} ${states}`;
      })
      .join('\n');
  }

  beforeAll(async () => {
    // Images first (cached by content: seconds when nothing changed). CINEMA_NODE_IMAGES=present
    // takes podman's current cinema/<service>:<appVersion> images as they are (while working on
    // the node itself: any change under packages/ rebuilds all nine).
    const images =
      process.env.CINEMA_NODE_IMAGES === 'present'
        ? imageServices(ROOT).map((service) => {
            const chart = fs.readFileSync(path.join(CHARTS, service, 'Chart.yaml'), 'utf8');
            const version = /^appVersion:\s*'?([^'\s]+)/m.exec(chart)![1];
            return { service, image: `localhost/cinema/${service}:${version}` };
          })
        : await timed('images', () => buildImages({ services: imageServices(ROOT) }));
    helm = (await kubeTools()).helm;
    await exec('sh', [path.join(CHARTS, 'build-deps.sh')], {
      env: { ...process.env, HELM: helm },
    });

    const pg = new Client({ connectionString: process.env.DATABASE_URL });
    await pg.connect();
    await pg.query(`CREATE DATABASE ${database}`);
    await pg.end();

    // etcd, kube-apiserver and a Kafka of this file's own: the broker advertises its second
    // listener under the cluster Service's name, which the pods resolve through CoreDNS.
    const kafkaClusterPort = 39190;
    Object.assign(process.env, {
      STACK_HOME: (home = fs.mkdtempSync(path.join(os.tmpdir(), 'cinema-node-'))),
      STACK_ETCD_PORT: '32379',
      STACK_KUBE_APISERVER_PORT: '36443',
      STACK_KAFKA_PORT: '39092',
      STACK_KAFKA_CLUSTER_LISTENER: `${kafkaClusterPort} cinema-kafka-kafka-bootstrap.${NAMESPACE}.svc.${NODE.clusterDomain}:9092`,
    });
    stack = await timed('private etcd, kube-apiserver, kafka', () =>
      startStack({ only: ['etcd', 'kube-apiserver', 'kafka'], env: {} }),
    );
    kubeconfig = stack.env.STACK_KUBECONFIG!;
    // A new broker creates __consumer_offsets and its group coordinator on the first request
    // that needs one; ugc-etl's consumer, asking in that window, gave up (Failed to find group
    // coordinator, restart: false) and stayed unready. A cluster's Kafka has been up for long:
    // ask once here, until the coordinator answers.
    await timed('kafka group coordinator', async () => {
      const admin = new Kafka({
        clientId: 'node-test',
        brokers: [stack!.env.KAFKA_BROKERS!],
        logLevel: logLevel.NOTHING,
      }).admin();
      await admin.connect();
      try {
        const deadline = Date.now() + 60_000;
        for (;;) {
          try {
            await admin.fetchOffsets({ groupId: 'node-test-warm-up', topics: [] });
            break;
          } catch (err) {
            if (Date.now() > deadline) throw err;
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      } finally {
        await admin.disconnect();
      }
    });
    const infra = infrastructure(kafkaClusterPort);
    node = await timed('node up', () =>
      startNode({
        kubeconfig,
        relayPorts: [...new Set([...infra.map((i) => i.to), ...loopbackPorts({})])],
      }),
    );
    const imported = await timed('images into containerd', () => importServiceImages(images));
    console.log(`imported into containerd: ${imported.join(', ') || 'none (already there)'}`);

    // The infrastructure operators' CRDs, as a cluster with them installed has (the charts
    // render KafkaTopics for Strimzi, ...); no operator acts on them here.
    await timed('operator CRDs', async () => {
      for (const file of Object.values(await operatorCrds()).flat())
        await kubectl(['apply', '--server-side', '--force-conflicts', '-f', file]);
      await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
    });
    await kubectl(['create', 'namespace', NAMESPACE]);
    const amqp = new URL(process.env.AMQP_URL!);
    const db = new URL(process.env.DATABASE_URL!);
    const objects = [
      ...infrastructureObjects(infra),
      secretObject('cinema-postgres-app', {
        url: `postgresql://${db.username}:${db.password}@cinema-postgres-rw:5432/${database}`,
      }),
      secretObject('cinema-rabbitmq-default-user', {
        username: decodeURIComponent(amqp.username),
        password: decodeURIComponent(amqp.password),
      }),
      secretObject('cinema-auth-secrets', {
        'jwt-key-encryption-secret': randomBytes(32).toString('hex'),
      }),
      secretObject('cinema-es-elastic-user', { elastic: 'local-stack-has-no-security' }),
      secretObject('cinema-es-catalog-reader', {
        username: 'catalog-reader',
        password: 'local-stack-has-no-security',
        roles: 'cinema_catalog_reader',
      }),
      secretObject('cinema-es-logs-reader', {
        username: 'logs-reader',
        password: 'local-stack-has-no-security',
        roles: 'cinema_logs_reader',
      }),
      secretObject('cinema-mongodb-admin-cinema', {
        'connectionString.standard': 'mongodb://cinema-mongodb-svc:27017/',
      }),
      secretObject('cinema-notifications-secrets', {
        'unsubscribe-secret': randomBytes(32).toString('hex'),
      }),
    ];
    await kubectl(
      ['apply', '--server-side', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
    );
  }, 60 * 60_000);

  afterAll(async () => {
    if (installed)
      await helmRun(['uninstall', RELEASE, '-n', NAMESPACE, '--wait', '--timeout', '2m']).catch(
        () => undefined,
      );
    await node?.stop();
    await stack?.stop();
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    const pg = new Client({ connectionString: process.env.DATABASE_URL });
    await pg.connect();
    await pg.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await pg.end();
    if (home) fs.rmSync(home, { recursive: true, force: true });
    console.log(`node test timings (s): ${JSON.stringify(timings)}`);
  });

  test('the node is Ready, with containerd from Debian and kubelet of the API server version', async () => {
    const info = JSON.parse(await kubectl(['get', 'node', NODE.name, '-o', 'json'])) as {
      status: {
        nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string };
        conditions: Array<{ type: string; status: string }>;
      };
    };
    expect(info.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(info.status.nodeInfo.kubeletVersion).toBe('v1.37.2');
    expect(info.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\/1\./);
  });

  test('helm install of charts/cinema: every pod Ready, then helm test passes', async () => {
    const services = imageServices(ROOT);
    const set = services.flatMap((s) => ['--set', `${s}.tests.image=${NODE.curlImage}`]);
    await timed('helm install --wait', async () => {
      try {
        await helmRun([
          'install',
          RELEASE,
          path.join(CHARTS, 'cinema'),
          '-n',
          NAMESPACE,
          '-f',
          path.join(CHARTS, 'cinema', 'profiles', 'ci.yaml'),
          // nginx-unprivileged cannot be pulled here (no Docker Hub): Debian's nginx stands in.
          '--set',
          `gateway.image.repository=${NODE.nginxImage.split(':')[0]}`,
          '--set',
          `gateway.image.tag=${NODE.nginxImage.split(':')[1]}`,
          // No ClickHouse server on this machine: ugc-etl's embedded chDB mode.
          '--set',
          'ugc-etl.clickhouse.embedded.enabled=true',
          ...set,
          '--wait',
          '--timeout',
          '10m',
        ]);
        installed = true;
      } catch (err) {
        installed = true;
        throw new Error(`${String(err)}\n${await podReport()}`);
      }
    });
    const pods = await podReport();
    console.log(`pods after helm install --wait:\n${pods}`);
    const deployments = JSON.parse(
      await kubectl(['get', 'deployments', '-n', NAMESPACE, '-o', 'json']),
    ) as { items: Array<{ metadata: { name: string }; status: { readyReplicas?: number } }> };
    const ready = Object.fromEntries(
      deployments.items.map((d) => [d.metadata.name, d.status.readyReplicas ?? 0]),
    );
    for (const service of [...services, 'gateway'])
      expect({ service, ready: ready[`cinema-${service}`] }).toEqual({
        service,
        ready: 1,
      });

    const test = await timed('helm test', async () => {
      try {
        return await helmRun(['test', RELEASE, '-n', NAMESPACE, '--timeout', '5m']);
      } catch (err) {
        throw new Error(`${String(err)}\n${await podReport()}`);
      }
    });
    console.log(test.stdout);
    expect(test.stdout).toMatch(/Phase:\s+Succeeded/);
    expect(test.stdout).not.toMatch(/Phase:\s+Failed/);
  });
  /** http://<ClusterIP>:<port> of a Service: the host reaches ClusterIPs through kube-proxy. */
  async function serviceUrl(name: string): Promise<string> {
    const svc = JSON.parse(
      await kubectl(['get', 'service', name, '-n', NAMESPACE, '-o', 'json']),
    ) as {
      spec: { clusterIP: string; ports: Array<{ port: number }> };
    };
    return `http://${svc.spec.clusterIP}:${svc.spec.ports[0]!.port}`;
  }

  async function login(authUrl: string, email: string, password: string): Promise<string> {
    const res = await fetch(`${authUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { accessToken: string }).accessToken;
  }

  test('a pause event: auth -> ugc-collector -> Kafka (by its Service name) -> ugc-etl -> its analytics API, all pods', async () => {
    expect(installed).toBe(true);
    const authUrl = await serviceUrl('cinema-auth');
    const viewer = { email: `node-${suffix()}@example.com`, password: `Pw-${randomUUID()}` };
    const reg = await fetch(`${authUrl}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(viewer),
    });
    expect(reg.status).toBe(201);
    const viewerToken = await login(authUrl, viewer.email, viewer.password);
    // An analyst: createsuperuser in the auth pod through `kubectl exec` (API server -> kubelet).
    const admin = { email: `node-admin-${suffix()}@example.com`, password: `Pw-${randomUUID()}` };
    const authPod = (
      await kubectl([
        'get',
        'pods',
        '-n',
        NAMESPACE,
        '-l',
        'app.kubernetes.io/name=auth',
        '-o',
        'jsonpath={.items[0].metadata.name}',
      ])
    ).trim();
    await kubectl(
      [
        'exec',
        '-i',
        '-n',
        NAMESPACE,
        authPod,
        '--',
        'node',
        'dist/cli.js',
        'createsuperuser',
        '--email',
        admin.email,
        '--password-stdin',
      ],
      `${admin.password}\n`,
    );
    const adminToken = await login(authUrl, admin.email, admin.password);

    const filmId = randomUUID();
    const eventId = randomUUID();
    const collector = await serviceUrl('cinema-ugc-collector');
    const sent = await fetch(`${collector}/api/pause`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${viewerToken}` },
      body: JSON.stringify({
        event_id: eventId,
        film_id: filmId,
        client_time: new Date().toISOString(),
        position_sec: 137,
      }),
    });
    expect(sent.status).toBe(202);
    const accepted = Date.now();
    const etl = await serviceUrl('cinema-ugc-etl');
    const eventsUrl = `${etl}/api/v1/analytics/films/${filmId}/events`;
    expect((await fetch(eventsUrl)).status).toBe(401);
    let pauses: Array<Record<string, unknown>> = [];
    while (Date.now() - accepted < 90_000 && !pauses.length) {
      const res = await fetch(eventsUrl, { headers: { authorization: `Bearer ${adminToken}` } });
      expect(res.status).toBe(200);
      pauses = ((await res.json()) as { pauses: Array<Record<string, unknown>> }).pauses;
      if (!pauses.length) await new Promise((r) => setTimeout(r, 500));
    }
    expect(pauses).toEqual([expect.objectContaining({ event_id: eventId, position_sec: 137 })]);
    timings['pause visible through ugc-etl'] = (Date.now() - accepted) / 1000;
  });

  test("the operator pod reconciles a CinemaPlatform with its chart's RBAC (infrastructure off: it comes from the local stack)", async () => {
    expect(installed).toBe(true);
    const services = imageServices(ROOT);
    const off = { enabled: false };
    const platform = {
      apiVersion: 'cinema.dev/v1alpha1',
      kind: 'CinemaPlatform',
      metadata: { name: 'cinema', namespace: NAMESPACE },
      spec: {
        profile: 'dev',
        kafka: off,
        clickhouse: off,
        mongodb: off,
        elasticsearch: { enabled: false, kibana: off, filebeat: off },
        rabbitmq: off,
        jaeger: off,
        postgresql: off,
        redis: off,
        services: { release: RELEASE, names: services },
      },
    };
    await kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(platform));
    type Status = {
      observedGeneration?: number;
      conditions?: Array<{ type: string; status: string; reason: string }>;
      components?: Record<string, { ready: boolean; reason?: string }>;
    };
    let status: Status = {};
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      status =
        (
          JSON.parse(
            await kubectl(['get', 'cinemaplatform', 'cinema', '-n', NAMESPACE, '-o', 'json']),
          ) as { status?: Status }
        ).status ?? {};
      if (status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    console.log(`CinemaPlatform status: ${JSON.stringify(status)}`);
    expect(status.observedGeneration).toBe(1);
    expect(status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(status.components?.services?.ready).toBe(true);
  });
});
