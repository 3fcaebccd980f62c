/**
 * Against the stack's real kube-apiserver (on its etcd), both built from their Go modules:
 * install the pinned operators' CRDs (from their released artifacts), then apply every rendered
 * chart manifest and every infrastructure custom resource with a server-side dry run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { kubeTools, startStack, type KubeTools, type Stack } from '@cinema/stack';
import {
  CHARTS,
  chartNames,
  ciValuesFiles,
  exec,
  K8S,
  operatorCrds,
  operatorPins,
  parseManifests,
  type K8sObject,
} from './support';

let stack: Stack;
let tools: KubeTools;
let kubeconfig: string;
let crdFiles: Record<string, string[]>;
/** API groups whose CRDs are installed. */
const groups = new Set<string>();

beforeAll(async () => {
  tools = await kubeTools();
  stack = await startStack({ only: ['etcd', 'kube-apiserver'] });
  kubeconfig = stack.env.STACK_KUBECONFIG!;
  crdFiles = await operatorCrds();
  await exec('sh', [path.join(CHARTS, 'build-deps.sh')], {
    env: { ...process.env, HELM: tools.helm },
  });
  for (const file of Object.values(crdFiles).flat()) {
    await kubectl(['apply', '--server-side', '--force-conflicts', '-f', file]);
    for (const crd of parseManifests(fs.readFileSync(file, 'utf8'))) {
      groups.add((crd.spec as { group: string }).group);
    }
  }
  // The platform operator's own CRD (the umbrella's dev and tilt profiles make a CinemaPlatform).
  await kubectl([
    'apply',
    '--server-side',
    '--force-conflicts',
    '-f',
    path.join(CHARTS, 'operator', 'crds', 'cinemaplatforms.cinema.dev.yaml'),
  ]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  // No controller-manager runs: make the namespace and its default ServiceAccount ourselves.
  await kubectl(['apply', '-f', path.join(K8S, 'infrastructure', '00-namespace.yaml')]);
  await kubectl(['apply', '-n', 'cinema', '-f', '-'], {
    input: 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n',
  });
}, 45 * 60_000);

afterAll(async () => {
  await stack?.stop();
});

async function kubectl(args: string[], options: { input?: string } = {}) {
  return exec(tools.kubectl, ['--kubeconfig', kubeconfig, ...args], options);
}

/** Server-side dry run of the objects; returns kubectl's `-o name` lines. */
async function dryRun(objects: K8sObject[]): Promise<string[]> {
  // JSON, not YAML: a YAML 1.2 writer leaves strings like `no` unquoted, which kubectl's YAML 1.1
  // reader would turn into booleans.
  const input = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });
  const { stdout } = await kubectl(
    ['apply', '--dry-run=server', '--validate=strict', '-n', 'cinema', '-o', 'name', '-f', '-'],
    { input },
  );
  return stdout.split('\n').filter(Boolean);
}

describe('the stack Kubernetes API', () => {
  it('reports the pinned versions (kube-apiserver /version, kubectl, helm)', async () => {
    const { stdout } = await kubectl(['version', '-o', 'json']);
    const v = JSON.parse(stdout) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string; gitTreeState: string };
    };
    expect(v.serverVersion.gitVersion).toBe(tools.versions.kubernetes);
    expect(v.serverVersion.gitTreeState).toBe('clean');
    expect(v.clientVersion.gitVersion).toBe(tools.versions.kubernetes);
    const helmVersion = (await exec(tools.helm, ['version', '--template', '{{.Version}}'])).stdout;
    expect(helmVersion).toBe(tools.versions.helm);
    const etcd = (await (await fetch(`${stack.env.ETCD_URL}/version`)).json()) as {
      etcdserver: string;
    };
    expect(`v${etcd.etcdserver}`).toBe(tools.versions.etcd);
  });

  it('has every available operator CRD installed from the pinned artifacts', async () => {
    const { stdout } = await kubectl(['get', 'crd', '-o', 'name']);
    for (const pin of operatorPins()) {
      if (pin.crds.unavailable) {
        expect(crdFiles[pin.name]).toEqual([]);
        continue;
      }
      expect(crdFiles[pin.name]!.length).toBeGreaterThan(0);
    }
    for (const crd of [
      'kafkas.kafka.strimzi.io',
      'kafkanodepools.kafka.strimzi.io',
      'kafkatopics.kafka.strimzi.io',
      'elasticsearches.elasticsearch.k8s.elastic.co',
      'kibanas.kibana.k8s.elastic.co',
      'beats.beat.k8s.elastic.co',
      'mongodbcommunity.mongodbcommunity.mongodb.com',
      'rabbitmqclusters.rabbitmq.com',
      'jaegers.jaegertracing.io',
    ]) {
      expect(stdout).toContain(`customresourcedefinition.apiextensions.k8s.io/${crd}`);
    }
  });

  it('rejects invalid custom resources (the CRD schemas really validate)', async () => {
    const topic: K8sObject = {
      apiVersion: 'kafka.strimzi.io/v1beta2',
      kind: 'KafkaTopic',
      metadata: { name: 'bad-topic', labels: { 'strimzi.io/cluster': 'cinema-kafka' } },
      spec: { partitions: 'three', replicas: 1 },
    };
    await expect(dryRun([topic])).rejects.toThrow(/partitions/);
    const rabbit: K8sObject = {
      apiVersion: 'rabbitmq.com/v1beta1',
      kind: 'RabbitmqCluster',
      metadata: { name: 'bad-rabbit' },
      spec: { replicas: 1, notAField: true },
    };
    await expect(dryRun([rabbit])).rejects.toThrow(/notAField/);
  });
});

describe('server-side dry run', () => {
  const renders: Array<[string, string[]]> = [];
  for (const chart of chartNames().filter((c) => c !== 'cinema-common')) {
    renders.push([`${chart} (default values)`, [chart]]);
    for (const file of ciValuesFiles(chart))
      renders.push([`${chart} (ci/${path.basename(file)})`, [chart, '-f', file]]);
  }
  for (const profile of ['dev', 'ci', 'tilt', 'production'])
    renders.push([
      `cinema (profile ${profile})`,
      ['cinema', '-f', path.join(CHARTS, 'cinema', 'profiles', `${profile}.yaml`)],
    ]);

  it.each(renders)('applies every manifest of %s with zero errors', async (_, args) => {
    const [chart, ...rest] = args;
    const { stdout } = await exec(tools.helm, [
      'template',
      'cinema',
      path.join(CHARTS, chart!),
      '--namespace',
      'cinema',
      '--kube-version',
      tools.versions.kubernetes,
      ...rest,
    ]);
    const objects = parseManifests(stdout);
    expect(objects.length).toBeGreaterThanOrEqual(3);
    const applied = await dryRun(objects);
    expect(applied).toHaveLength(objects.length);
  });

  const infraFiles = fs
    .readdirSync(path.join(K8S, 'infrastructure'))
    .filter((f) => f.endsWith('.yaml'))
    .sort();

  it.each(infraFiles)('applies the infrastructure of %s with zero errors', async (file) => {
    const objects = parseManifests(fs.readFileSync(path.join(K8S, 'infrastructure', file), 'utf8'));
    const group = (o: K8sObject) => (o.apiVersion.includes('/') ? o.apiVersion.split('/')[0]! : '');
    const known = objects.filter(
      (o) => !group(o).includes('.') || groups.has(group(o)) || group(o).endsWith('k8s.io'),
    );
    const unknown = objects.filter((o) => !known.includes(o));
    if (known.length) expect(await dryRun(known)).toHaveLength(known.length);
    // Only the Altinity operator's resources lack a CRD here (see k8s/operators.json).
    for (const o of unknown) expect(group(o)).toBe('clickhouse.altinity.com');
  });

  it('ClickHouseInstallation (no CRD available): structurally what the services expect', () => {
    const [chi] = parseManifests(
      fs.readFileSync(path.join(K8S, 'infrastructure', 'clickhouse.yaml'), 'utf8'),
    );
    expect(chi).toMatchObject({
      apiVersion: 'clickhouse.altinity.com/v1',
      kind: 'ClickHouseInstallation',
      metadata: { name: 'cinema', namespace: 'cinema' },
    });
    const spec = chi!.spec as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(spec.configuration.users['cinema/k8s_secret_password']).toBe(
      'cinema-clickhouse-credentials/password',
    );
    expect(spec.configuration.clusters[0].layout).toEqual({ shardsCount: 1, replicasCount: 1 });
    const templates = new Set<string>(
      [...spec.templates.podTemplates, ...spec.templates.volumeClaimTemplates].map(
        (t: { name: string }) => t.name,
      ),
    );
    for (const used of Object.values(spec.defaults.templates as Record<string, string>))
      expect(templates.has(used)).toBe(true);
    // ugc-etl's CLICKHOUSE_URL points at the service the operator makes for installation "cinema".
    const values = fs.readFileSync(path.join(CHARTS, 'ugc-etl', 'values.yaml'), 'utf8');
    expect(values).toContain('@clickhouse-cinema:8123');
    expect(values).toContain('cinema-clickhouse-credentials');
  });
});
