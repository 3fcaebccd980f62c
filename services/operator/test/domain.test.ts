/** Unit tests (no I/O): the renderer, readiness mapping, conditions, work queue, reconciler. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { TOPICS } from '@cinema/kafka';
import { crdFile, crdYaml } from '../src/domain/crd-file';
import { WorkQueue } from '../src/domain/queue';
import { childReadiness, componentStatus, flipped, setCondition } from '../src/domain/readiness';
import { Reconciler, type ClusterPort } from '../src/domain/reconciler';
import { keyOf, render, secretValues, type SecretValues } from '../src/domain/render';
import {
  effectiveSpec,
  PAUSE_ANNOTATION,
  platformsExpecting,
  serviceDeploymentName,
  type CinemaPlatform,
  type KubeObject,
  type PlatformSpec,
  type PlatformStatus,
} from '../src/domain/spec';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function platform(
  spec: PlatformSpec = {},
  extra: Partial<CinemaPlatform['metadata']> = {},
): CinemaPlatform {
  return {
    apiVersion: 'cinema.dev/v1alpha1',
    kind: 'CinemaPlatform',
    metadata: { name: 'cinema', namespace: 'cinema', uid: 'uid-1', generation: 1, ...extra },
    spec,
  };
}

const fixedSecrets = (spec: PlatformSpec = {}) =>
  secretValues(effectiveSpec(spec), {}, () => 'generated');

function renderOf(spec: PlatformSpec = {}) {
  return render({ platform: platform(spec), topics: TOPICS, secrets: fixedSecrets(spec) });
}

const find = (objects: KubeObject[], kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);

describe('the CRD file', () => {
  it('is the one generated from src/domain/crd.ts', () => {
    expect(fs.readFileSync(path.join(ROOT, crdFile), 'utf8')).toBe(crdYaml());
  });
});

describe('render (dev profile)', () => {
  const objects = renderOf();

  it('renders every object of k8s/infrastructure/ with the same spec (cluster-scoped RBAC and the namespace aside)', () => {
    const dir = path.join(ROOT, 'k8s', 'infrastructure');
    const documented = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) =>
        parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map(
          (d) => d.toJS() as KubeObject & { spec?: unknown },
        ),
      )
      .filter((o) => o && !['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind));
    expect(documented.length).toBeGreaterThan(10);
    for (const doc of documented) {
      const mine = find(objects, doc.kind, doc.metadata.name);
      expect(mine && `${mine.apiVersion} ${mine.kind} ${mine.metadata.name}`).toBe(
        `${doc.apiVersion} ${doc.kind} ${doc.metadata.name}`,
      );
      if (doc.spec) expect(mine!.spec).toMatchObject(doc.spec as object);
    }
  });

  it('owns every child (controller owner reference) and labels it', () => {
    for (const o of objects) {
      expect(o.metadata.namespace).toBe('cinema');
      expect(o.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'CinemaPlatform', uid: 'uid-1', controller: true }),
      ]);
      expect(o.metadata.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'cinema-operator',
        'cinema.dev/platform': 'cinema',
      });
    }
    expect(new Set(objects.map(keyOf)).size).toBe(objects.length);
  });

  it('makes a KafkaTopic per platform topic, replication 1', () => {
    const topics = objects.filter((o) => o.kind === 'KafkaTopic');
    expect(topics.map((t) => (t.spec as { topicName: string }).topicName).sort()).toEqual(
      TOPICS.map((t) => t.name).sort(),
    );
    expect(topics.every((t) => (t.spec as { replicas: number }).replicas === 1)).toBe(true);
    expect(find(objects, 'KafkaTopic', 'tracking-clicks-on-video-pauses')).toBeDefined();
  });

  it('makes the connection Secrets the charts read (k8s/up.sh made them before)', () => {
    const secrets = objects.filter((o) => o.kind === 'Secret');
    expect(secrets.map((s) => s.metadata.name).sort()).toEqual([
      'cinema-auth-secrets',
      'cinema-clickhouse-credentials',
      'cinema-es-catalog-reader',
      'cinema-es-logs-reader',
      'cinema-es-roles',
      'cinema-mongodb-password',
      'cinema-notifications-secrets',
      'cinema-postgres',
      'cinema-postgres-app',
    ]);
    // Elasticsearch readers: an ECK file-realm user with a read-only role.
    const decode = (o: KubeObject) =>
      Object.fromEntries(
        Object.entries((o as unknown as { data: Record<string, string> }).data).map(([k, v]) => [
          k,
          Buffer.from(v, 'base64').toString(),
        ]),
      );
    const catalog = find(objects, 'Secret', 'cinema-es-catalog-reader')!;
    expect((catalog as unknown as { type: string }).type).toBe('kubernetes.io/basic-auth');
    expect(decode(catalog)).toEqual({
      username: 'catalog-reader',
      password: 'generated',
      roles: 'cinema_catalog_reader',
    });
    expect(decode(find(objects, 'Secret', 'cinema-es-logs-reader')!)).toEqual({
      username: 'logs-reader',
      password: 'generated',
      roles: 'cinema_logs_reader',
    });
    const roles = decode(find(objects, 'Secret', 'cinema-es-roles')!)['roles.yml']!;
    // One role per reader, each on its own indices only, read-only.
    const [catalogRole, logsRole] = roles.split(/^(?=cinema_logs_reader:)/m);
    expect(catalogRole).toMatch(/^cinema_catalog_reader:/);
    expect(catalogRole).toMatch(/names: \['films\*', 'persons\*', 'genres\*'\]/);
    expect(catalogRole).not.toMatch(/filebeat|logs-/);
    expect(logsRole).toMatch(/^cinema_logs_reader:/);
    expect(logsRole).toMatch(/names: \['filebeat-\*', 'logs-\*'\]/);
    expect(logsRole).not.toMatch(/films|persons|genres/);
    expect(roles.match(/privileges: \['read', 'view_index_metadata'\]/g)).toHaveLength(2);
    expect(roles).not.toMatch(/write|all|manage|delete|index'/);
    expect((find(objects, 'Elasticsearch', 'cinema')!.spec as { auth: unknown }).auth).toEqual({
      roles: [{ secretName: 'cinema-es-roles' }],
      fileRealm: [
        { secretName: 'cinema-es-catalog-reader' },
        { secretName: 'cinema-es-logs-reader' },
      ],
    });
    const app = find(objects, 'Secret', 'cinema-postgres-app') as KubeObject & {
      data: { url: string };
    };
    expect(Buffer.from(app.data.url, 'base64').toString()).toBe(
      'postgres://cinema:generated@cinema-postgres:5432/cinema',
    );
    expect(objects.some((o) => o.kind === 'PodDisruptionBudget')).toBe(false);
  });

  it('leaves out disabled components, their Secrets, and Kibana/Filebeat when asked', () => {
    const spec: PlatformSpec = {
      clickhouse: { enabled: false },
      postgresql: { enabled: false },
      elasticsearch: { kibana: { enabled: false }, filebeat: { enabled: false } },
      kafka: { topics: { managed: false } },
    };
    const some = renderOf(spec);
    expect(some.some((o) => o.kind === 'ClickHouseInstallation')).toBe(false);
    expect(some.some((o) => o.kind === 'StatefulSet')).toBe(false);
    expect(some.some((o) => ['Kibana', 'Beat', 'KafkaTopic'].includes(o.kind))).toBe(false);
    expect(find(some, 'Secret', 'cinema-postgres-app')).toBeUndefined();
    expect(find(some, 'Secret', 'cinema-clickhouse-credentials')).toBeUndefined();
    expect(find(some, 'Elasticsearch', 'cinema')).toBeDefined();
  });

  it('takes sizes and versions from the spec', () => {
    const sized = renderOf({
      kafka: { version: '3.9.0', size: { replicas: 2, storage: '20Gi' } },
      redis: { version: '7.2' },
    });
    const pool = find(sized, 'KafkaNodePool', 'dual-role')!.spec as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(pool.replicas).toBe(2);
    expect(pool.storage.volumes[0].size).toBe('20Gi');
    const kafka = find(sized, 'Kafka', 'cinema-kafka')!.spec as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(kafka.kafka.version).toBe('3.9.0');
    expect(kafka.kafka.metadataVersion).toBe('3.9-IV0');
    const redis = find(sized, 'Deployment', 'cinema-redis')!.spec as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(redis.template.spec.containers[0].image).toBe('redis:7.2-alpine');
  });
});

describe('render (production profile)', () => {
  const objects = renderOf({ profile: 'production' });
  /* eslint-disable @typescript-eslint/no-explicit-any */
  const spec = (kind: string, name: string) =>
    find(objects, kind, name)!.spec as Record<string, any>;

  it('runs 3 Kafka brokers with replication 3 and min.insync 2, topics likewise', () => {
    expect(spec('KafkaNodePool', 'dual-role').replicas).toBe(3);
    expect(spec('KafkaNodePool', 'dual-role').template.pod.affinity.podAntiAffinity).toBeDefined();
    expect(spec('Kafka', 'cinema-kafka').kafka.config).toMatchObject({
      'default.replication.factor': 3,
      'min.insync.replicas': 2,
      'offsets.topic.replication.factor': 3,
    });
    const topic = objects.find((o) => o.kind === 'KafkaTopic')!.spec as any;
    expect(topic.replicas).toBe(3);
    expect(topic.config['min.insync.replicas']).toBe('2');
  });

  it('runs ClickHouse 2 shards x 2 replicas on ClickHouse Keeper', () => {
    const chi = spec('ClickHouseInstallation', 'cinema');
    expect(chi.configuration.clusters[0].layout).toEqual({ shardsCount: 2, replicasCount: 2 });
    expect(chi.configuration.zookeeper.nodes[0].host).toBe('keeper-cinema-keeper');
    expect(
      spec('ClickHouseKeeperInstallation', 'cinema-keeper').configuration.clusters[0].layout
        .replicasCount,
    ).toBe(3);
  });

  it('runs 3 Elasticsearch nodes, 3 RabbitMQ nodes (quorum queues), a MongoDB replica set of 3', () => {
    expect(spec('Elasticsearch', 'cinema').nodeSets[0].count).toBe(3);
    expect(spec('RabbitmqCluster', 'cinema-rabbitmq').replicas).toBe(3);
    expect(spec('RabbitmqCluster', 'cinema-rabbitmq').rabbitmq.additionalConfig).toContain(
      'default_queue_type = quorum',
    );
    expect(spec('RabbitmqCluster', 'cinema-rabbitmq').affinity.podAntiAffinity).toBeDefined();
    expect(spec('MongoDBCommunity', 'cinema-mongodb').members).toBe(3);
  });

  it('adds PodDisruptionBudgets where the operators make none', () => {
    expect(
      objects
        .filter((o) => o.kind === 'PodDisruptionBudget')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['cinema-clickhouse-pdb', 'cinema-mongodb-pdb', 'cinema-rabbitmq-pdb']);
  });
  /* eslint-enable @typescript-eslint/no-explicit-any */
});

describe('secretValues', () => {
  it('keeps existing values, generates only the missing ones, derives the PostgreSQL URL', () => {
    let n = 0;
    const values = secretValues(
      effectiveSpec({}),
      { 'cinema-postgres': { password: 'kept' } },
      () => `new${++n}`,
    );
    expect(values['cinema-postgres']).toEqual({ password: 'kept' });
    expect(values['cinema-postgres-app']!.url).toContain(':kept@');
    expect(
      Object.values(values)
        .flatMap(Object.values)
        .filter((v) => v.startsWith('new')),
    ).toHaveLength(6);
    // Fixed keys are restored, a kept password stays.
    const again = secretValues(
      effectiveSpec({}),
      {
        'cinema-es-catalog-reader': { username: 'admin', password: 'kept', roles: 'superuser' },
      },
      () => 'fresh',
    );
    expect(again['cinema-es-catalog-reader']).toEqual({
      username: 'catalog-reader',
      password: 'kept',
      roles: 'cinema_catalog_reader',
    });
  });
});

describe('readiness from the operators statuses', () => {
  const obj = (kind: string, status: unknown, generation = 2, spec: unknown = {}): KubeObject => ({
    apiVersion: 'x/v1',
    kind,
    metadata: { name: 'n', generation },
    spec,
    status,
  });
  const ready = (o: KubeObject) => childReadiness(o).ready;
  const cond = (type: string, status = 'True') => ({ type, status });

  it('Strimzi: the Ready condition, counted only for the current generation', () => {
    expect(ready(obj('Kafka', { observedGeneration: 2, conditions: [cond('Ready')] }))).toBe(true);
    const stale = childReadiness(
      obj('Kafka', { observedGeneration: 1, conditions: [cond('Ready')] }),
    );
    expect(stale).toMatchObject({ ready: false, reason: 'Stale' });
    expect(
      ready(obj('KafkaTopic', { observedGeneration: 2, conditions: [cond('Ready', 'False')] })),
    ).toBe(false);
    expect(
      ready(obj('KafkaNodePool', { observedGeneration: 2, replicas: 3 }, 2, { replicas: 3 })),
    ).toBe(true);
    expect(
      ready(obj('KafkaNodePool', { observedGeneration: 2, replicas: 1 }, 2, { replicas: 3 })),
    ).toBe(false);
  });

  it('ECK: health green (and phase Ready for Elasticsearch)', () => {
    expect(
      ready(obj('Elasticsearch', { observedGeneration: 2, health: 'green', phase: 'Ready' })),
    ).toBe(true);
    expect(
      ready(obj('Elasticsearch', { observedGeneration: 2, health: 'yellow', phase: 'Ready' })),
    ).toBe(false);
    expect(ready(obj('Kibana', { observedGeneration: 2, health: 'green' }))).toBe(true);
    expect(ready(obj('Beat', { observedGeneration: 2, health: 'red' }))).toBe(false);
  });

  it('CHI Completed, MongoDBCommunity Running, Jaeger Running, RabbitMQ both conditions', () => {
    expect(ready(obj('ClickHouseInstallation', { status: 'Completed' }))).toBe(true);
    expect(ready(obj('ClickHouseInstallation', { status: 'InProgress' }))).toBe(false);
    expect(ready(obj('MongoDBCommunity', { phase: 'Running' }))).toBe(true);
    expect(ready(obj('MongoDBCommunity', { phase: 'Pending' }))).toBe(false);
    expect(ready(obj('Jaeger', { phase: 'Running' }))).toBe(true);
    const rabbit = (a: string, b: string) =>
      obj('RabbitmqCluster', {
        observedGeneration: 2,
        conditions: [cond('AllReplicasReady', a), cond('ClusterAvailable', b)],
      });
    expect(ready(rabbit('True', 'True'))).toBe(true);
    expect(ready(rabbit('True', 'False'))).toBe(false);
  });

  it('workloads: StatefulSet ready replicas, Deployment Available; plain objects on existence', () => {
    expect(
      ready(obj('StatefulSet', { observedGeneration: 2, readyReplicas: 1 }, 2, { replicas: 1 })),
    ).toBe(true);
    expect(
      ready(obj('StatefulSet', { observedGeneration: 2, readyReplicas: 0 }, 2, { replicas: 1 })),
    ).toBe(false);
    const deployment = (available: number, condition = 'True', replicas = 2) =>
      obj(
        'Deployment',
        {
          observedGeneration: 2,
          availableReplicas: available,
          conditions: [cond('Available', condition)],
        },
        2,
        { replicas },
      );
    expect(childReadiness(deployment(2))).toMatchObject({ ready: true, message: /2\/2 available/ });
    expect(ready(deployment(1))).toBe(true); // Available: the controller's minimum availability
    expect(childReadiness(deployment(0))).toMatchObject({
      ready: false,
      message: /0\/2 available/,
    });
    expect(ready(deployment(2, 'False'))).toBe(false);
    expect(ready(deployment(0, 'True', 0))).toBe(true); // scaled to zero on purpose
    expect(ready(obj('Deployment', {}))).toBe(false);
    expect(ready(obj('Secret', undefined))).toBe(true);
    expect(childReadiness(undefined)).toMatchObject({ ready: false, reason: 'Missing' });
  });

  it("service Deployments: the charts' names (cinema-common hostFor) and the platforms expecting them", () => {
    expect(serviceDeploymentName('cinema', 'ugc-api')).toBe('cinema-ugc-api');
    expect(serviceDeploymentName('auth', 'auth')).toBe('auth');
    expect(serviceDeploymentName('x'.repeat(60), 'ugc-api')).toHaveLength(63);
    const a = platform({ services: { names: ['ugc-api', 'auth'] } });
    const b = platform({ services: { release: 'blue', names: ['ugc-api'] } }, { name: 'b' });
    const c = platform({}, { name: 'c', namespace: 'other' });
    expect(platformsExpecting([a, b, c], 'cinema', 'cinema-ugc-api')).toEqual(['cinema/cinema']);
    expect(platformsExpecting([a, b, c], 'cinema', 'blue-ugc-api')).toEqual(['cinema/b']);
    expect(platformsExpecting([a, b, c], 'cinema', 'cinema-catalog-api')).toEqual([]);
    // The default service list, in another namespace.
    expect(platformsExpecting([a, b, c], 'other', 'cinema-catalog-api')).toEqual(['other/c']);
  });

  it('a component is ready when all its children are', () => {
    const a = obj('Secret', undefined);
    const b = obj('Kafka', { observedGeneration: 1 });
    expect(componentStatus([a], ['a']).ready).toBe(true);
    expect(componentStatus([a, b, undefined], ['a', 'b', 'c'])).toMatchObject({
      ready: false,
      reason: 'Stale',
      message: expect.stringContaining('and 1 more'),
    });
  });
});

describe('conditions', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const t1 = new Date('2026-01-01T00:01:00Z');

  it('lastTransitionTime moves only when the status flips', () => {
    let list = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, t0);
    list = setCondition(list, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, t1);
    expect(list).toEqual([
      {
        type: 'Ready',
        status: 'False',
        reason: 'B',
        message: 'b',
        lastTransitionTime: t0.toISOString(),
      },
    ]);
    const before = list;
    list = setCondition(list, { type: 'Ready', status: 'True', reason: 'Ready', message: '' }, t1);
    expect(list[0]!.lastTransitionTime).toBe(t1.toISOString());
    expect(flipped(before, list).map((c) => c.type)).toEqual(['Ready']);
    expect(flipped(list, list)).toEqual([]);
  });
});

describe('WorkQueue', () => {
  it('queues a key once, never runs one key twice at a time, runs it again when re-added meanwhile', async () => {
    const queue = new WorkQueue();
    const running = new Set<string>();
    const runs: string[] = [];
    let overlap = false;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const done = queue.run(async (key) => {
      if (running.has(key)) overlap = true;
      running.add(key);
      runs.push(key);
      if (runs.length === 1) await gate;
      running.delete(key);
    }, 3);
    queue.add('a');
    queue.add('a');
    await new Promise((r) => setImmediate(r));
    queue.add('a'); // while a runs
    queue.add('a');
    queue.add('b');
    await new Promise((r) => setTimeout(r, 10));
    release();
    await new Promise((r) => setTimeout(r, 10));
    queue.stop();
    await done;
    expect(overlap).toBe(false);
    expect(runs.filter((k) => k === 'a')).toHaveLength(2);
    expect(runs.filter((k) => k === 'b')).toHaveLength(1);
  });

  it('backs off exponentially with jitter, capped', () => {
    const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000, jitter: 0.5, random: () => 1 });
    expect([1, 2, 3, 4, 5, 6].map((n) => q.backoff(n))).toEqual([50, 100, 200, 400, 500, 500]);
    const noJitter = new WorkQueue({ baseDelayMs: 100, jitter: 0.5, random: () => 0 });
    expect(noJitter.backoff(3)).toBe(400);
  });

  it('retries a failing key after its backoff, then forgets the failures', async () => {
    const queue = new WorkQueue({ baseDelayMs: 5, jitter: 0 });
    let calls = 0;
    const errors: number[] = [];
    const done = queue.run(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error('boom');
      },
      1,
      (_k, _e, delay) => errors.push(delay),
    );
    queue.add('k');
    await new Promise((r) => setTimeout(r, 100));
    queue.stop();
    await done;
    expect(calls).toBe(3);
    expect(errors).toEqual([5, 10]);
  });
});

describe('Reconciler (against a fake cluster)', () => {
  class FakeCluster implements ClusterPort {
    platform: CinemaPlatform;
    applied: KubeObject[] = [];
    live = new Map<string, KubeObject>();
    statuses: PlatformStatus[] = [];
    events: string[] = [];
    deleted: string[] = [];
    failKind?: string;
    constructor(p: CinemaPlatform) {
      this.platform = p;
    }
    async getPlatform() {
      return this.platform;
    }
    async apply(obj: KubeObject) {
      if (obj.kind === this.failKind) throw new Error('admission webhook said no');
      this.applied.push(obj);
      const current = this.live.get(keyOf(obj));
      const merged = {
        ...obj,
        metadata: { ...obj.metadata, generation: 1 },
        status: current?.status,
      };
      this.live.set(keyOf(obj), merged);
      return merged;
    }
    async read(apiVersion: string, kind: string, namespace: string, name: string) {
      return this.live.get(`${apiVersion}/${kind}/${namespace}/${name}`);
    }
    owned() {
      return [...this.live.values()];
    }
    async delete(obj: KubeObject) {
      this.deleted.push(keyOf(obj));
      this.live.delete(keyOf(obj));
    }
    async applyStatus(_p: CinemaPlatform, status: PlatformStatus) {
      this.statuses.push(status);
      this.platform = { ...this.platform, status };
    }
    async event(_p: CinemaPlatform, type: string, reason: string) {
      this.events.push(`${type} ${reason}`);
    }
    async readSecrets(): Promise<SecretValues> {
      return {};
    }
  }
  const small: PlatformSpec = {
    kafka: { enabled: false },
    clickhouse: { enabled: false },
    mongodb: { enabled: false },
    elasticsearch: { enabled: false },
    rabbitmq: { enabled: false },
    jaeger: { enabled: false },
    postgresql: { enabled: false },
    services: { names: [] },
  };
  const reconciler = (cluster: FakeCluster) =>
    new Reconciler({ cluster, topics: TOPICS, generateSecret: () => 's' });

  it('applies the children, reports Ready=False until they are ready, then Ready=True', async () => {
    const cluster = new FakeCluster(platform(small));
    const r = reconciler(cluster);
    expect(await r.reconcile('cinema', 'cinema')).toMatchObject({ ready: false });
    expect(cluster.applied.map((o) => o.kind).sort()).toEqual(
      ['Deployment', 'Deployment', 'Secret', 'Secret', 'Service', 'Service'].sort(),
    );
    const ready = (s: PlatformStatus) => s.conditions!.find((c) => c.type === 'Ready')!;
    expect(ready(cluster.statuses.at(-1)!)).toMatchObject({
      status: 'False',
      reason: 'RedisNotReady',
    });
    expect(cluster.statuses.at(-1)!.observedGeneration).toBe(1);
    for (const o of cluster.live.values())
      if (o.kind === 'Deployment')
        o.status = {
          observedGeneration: 1,
          availableReplicas: 1,
          conditions: [{ type: 'Available', status: 'True' }],
        };
    expect(await r.reconcile('cinema', 'cinema')).toMatchObject({ ready: true });
    expect(ready(cluster.statuses.at(-1)!)).toMatchObject({ status: 'True', reason: 'Ready' });
    expect(cluster.events).toContain('Normal ReadyTrue');
    // Nothing changed: no status write.
    const writes = cluster.statuses.length;
    await r.reconcile('cinema', 'cinema');
    expect(cluster.statuses.length).toBe(writes);
  });

  it('deletes children no longer wanted', async () => {
    const cluster = new FakeCluster(platform(small));
    await reconciler(cluster).reconcile('cinema', 'cinema');
    cluster.platform = platform({ ...small, redis: { enabled: false } });
    await reconciler(cluster).reconcile('cinema', 'cinema');
    expect(cluster.deleted.filter((k) => k.includes('cinema-redis'))).toHaveLength(2);
  });

  it('paused: changes nothing, says Paused', async () => {
    const cluster = new FakeCluster(
      platform(small, { annotations: { [PAUSE_ANNOTATION]: 'true' } }),
    );
    await reconciler(cluster).reconcile('cinema', 'cinema');
    expect(cluster.applied).toEqual([]);
    expect(cluster.statuses.at(-1)!.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'Paused', status: 'True' })]),
    );
  });

  it('an apply that fails: Stalled=True, a Warning, and an error for the queue to retry', async () => {
    const cluster = new FakeCluster(platform(small));
    cluster.failKind = 'Service';
    await expect(reconciler(cluster).reconcile('cinema', 'cinema')).rejects.toThrow(
      /admission webhook/,
    );
    expect(cluster.statuses.at(-1)!.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Stalled', status: 'True', reason: 'ApplyFailed' }),
      ]),
    );
    expect(cluster.events).toContain('Warning StalledTrue');
  });

  it('a platform being deleted is left to the garbage collector', async () => {
    const cluster = new FakeCluster(platform(small, { deletionTimestamp: '2026-01-01T00:00:00Z' }));
    await reconciler(cluster).reconcile('cinema', 'cinema');
    expect(cluster.applied).toEqual([]);
    expect(cluster.statuses).toEqual([]);
  });
});
