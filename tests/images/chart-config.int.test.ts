/**
 * Each service chart's container environment against the service's own config schema, without
 * containers: `helm template` of the chart (production values, and ci/full-values.yaml), the env
 * resolved as the kubelet does (ConfigMap, Secret references with values shaped like the ones
 * the operators and k8s/up.sh create, `$(VAR)` expansion) on top of the image's ENV
 * (NODE_ENV=production ...), then the service's `readConfig`. A required variable missing from a
 * chart, a value the schema refuses, or a variable no schema knows (a typo the schema would
 * silently drop) fails here, before an image is ever built.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, type z } from '@cinema/config';
import { imageServices } from '@cinema/stack';
import { ciValuesFiles, ROOT, type K8sObject } from '../k8s/support';
import { containerOf, renderChart, resolveEnv, helm } from './support';

jest.setTimeout(10 * 60_000);

/** Secret values shaped like the cluster's (CloudNativePG url, RabbitMQ operator, ECK, ...). */
export const SAMPLE_SECRETS: Record<string, string> = {
  'cinema-postgres-app/url': 'postgresql://cinema:s3cret@cinema-postgres-rw.cinema:5432/cinema',
  'cinema-rabbitmq-default-user/username': 'default_user_x1',
  'cinema-rabbitmq-default-user/password': 'p4ss',
  'cinema-auth-secrets/jwt-key-encryption-secret': 'a'.repeat(48),
  'cinema-es-elastic-user/elastic': 'el4stic',
  'cinema-es-catalog-reader/password': 'c4talog',
  'cinema-es-logs-reader/password': 'l0gs',
  'cinema-mongodb-admin-cinema/connectionString.standard':
    'mongodb://cinema:pw@cinema-mongodb-0.cinema-mongodb-svc.cinema.svc.cluster.local:27017/admin?replicaSet=cinema-mongodb&ssl=false',
  'cinema-clickhouse-credentials/password': 'cl1ckhouse',
  'cinema-notifications-secrets/unsubscribe-secret': 'u'.repeat(48),
};

/** The image's ENV (Dockerfile runtime stage), under the chart's. */
const imageEnv = (service: string): Record<string, string> => ({
  NODE_ENV: 'production',
  HOST: '0.0.0.0',
  SERVICE_NAME: service,
  OTEL_SERVICE_NAME: service,
});

/** Read by code outside the config schema (telemetry preload, Node) or only composed into others. */
const OUTSIDE_SCHEMA = /^(OTEL_[A-Z_]+|NODE_OPTIONS|SERVICE_NAME|[A-Z]+_(USERNAME|PASSWORD))$/;

type Schema = z.ZodTypeAny;
interface ConfigModule {
  configSchema: Schema;
  readConfig: (env: NodeJS.ProcessEnv, argv?: readonly string[]) => unknown;
}

function shapeKeys(schema: Schema): string[] {
  let s: any = schema; // eslint-disable-line @typescript-eslint/no-explicit-any
  while (s && !s.shape && s._def?.schema) s = s._def.schema; // ZodEffects (refine) around the object
  return Object.keys(s?.shape ?? {});
}

function configModule(service: string): ConfigModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(ROOT, 'services', service, 'src', 'config.ts')) as ConfigModule;
}

const secret = (name: string, key: string) => SAMPLE_SECRETS[`${name}/${key}`];

beforeAll(() => helm(), 45 * 60_000);

const services = imageServices(ROOT);

test('every service with an image has a chart and a config schema', () => {
  expect(services.length).toBeGreaterThanOrEqual(9);
  for (const service of services)
    expect(fs.existsSync(path.join(ROOT, 'services', service, 'src', 'config.ts'))).toBe(true);
});

test("every @cinema package a service's code imports is one of its dependencies (its image installs only those)", () => {
  const undeclared: string[] = [];
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
      const file = path.join(dir, d.name);
      if (d.isDirectory()) return d.name === 'generated' ? [] : walk(file);
      return /\.ts$/.test(d.name) && !/\.test\.ts$/.test(d.name) ? [file] : [];
    });
  for (const service of services) {
    const dir = path.join(ROOT, 'services', service);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    const imported = new Set<string>();
    for (const file of walk(path.join(dir, 'src')))
      for (const m of fs
        .readFileSync(file, 'utf8')
        .matchAll(/(?:from\s+|require\(|import\()'(@cinema\/[a-z0-9-]+)/g))
        imported.add(m[1]!);
    expect(imported.size).toBeGreaterThan(0);
    for (const name of imported)
      if (!pkg.dependencies?.[name]) undeclared.push(`${service}: ${name}`);
  }
  expect(undeclared).toEqual([]);
});

describe.each(services)('%s', (service) => {
  const variants: Array<[string, string[], string]> = [['default values', [], 'Deployment']];
  for (const file of ciValuesFiles(service))
    variants.push([`ci/${path.basename(file)}`, ['-f', file], '']);

  test.each(variants)(
    'the env of its chart (%s) passes its config schema',
    async (_, args, kind) => {
      const objects = await renderChart(service, args);
      const workloadKind =
        kind || (objects.find((o) => o.kind === 'CronJob') ? 'CronJob' : 'Deployment');
      const container = containerOf(service, objects, workloadKind);
      const env = { ...imageEnv(service), ...resolveEnv(container, secret) };
      const mod = configModule(service);
      let problems: string[] = [];
      try {
        mod.readConfig(env, ['node', 'dist/main.js', ...container.args]);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems = err.problems;
      }
      expect(problems).toEqual([]);
      const known = new Set(shapeKeys(mod.configSchema));
      expect(known.size).toBeGreaterThan(3);
      const unknown = container.env
        .map((e) => e.name)
        .filter((name) => !known.has(name) && !OUTSIDE_SCHEMA.test(name));
      expect(unknown).toEqual([]);
      // The port the chart exposes (and probes) is the one the service listens on.
      expect(Number(env.PORT ?? NaN)).toBe(container.port);
    },
  );
});

describe('the check itself', () => {
  test('a required variable missing from a chart fails it, naming the variable', async () => {
    const container = containerOf('auth', await renderChart('auth'));
    container.env = container.env.filter((e) => e.name !== 'DATABASE_URL');
    const env = { ...imageEnv('auth'), ...resolveEnv(container, secret) };
    expect(() => configModule('auth').readConfig(env)).toThrow(/DATABASE_URL/);
  });

  test('a value the schema refuses fails it', async () => {
    const objects = await renderChart('auth', ['--set', 'config.LOG_LEVEL=loud']);
    const env = { ...imageEnv('auth'), ...resolveEnv(containerOf('auth', objects), secret) };
    expect(() => configModule('auth').readConfig(env)).toThrow(/LOG_LEVEL/);
  });

  test('a required Secret the test has no value for is reported, not skipped', async () => {
    const container = containerOf('auth', await renderChart('auth'));
    expect(() => resolveEnv(container, () => undefined)).toThrow(/DATABASE_URL needs Secret/);
  });
});

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests are untyped */
describe('ugc-etl with embedded chDB (clickhouse.embedded)', () => {
  const embedded = ['--set', 'clickhouse.embedded.enabled=true'];
  /** No ClickHouse server, so no Secret of one: asking for it fails the test. */
  const noClickHouseSecret = (name: string, key: string) => {
    if (name === 'cinema-clickhouse-credentials') throw new Error(`asked for ${name}/${key}`);
    return secret(name, key);
  };
  const deploymentOf = (objects: K8sObject[]) =>
    objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'cinema-ugc-etl')!;

  test('its env opens chDB at CHDB_PATH (no CLICKHOUSE_URL), on a writable volume of its own, one replica, Recreate', async () => {
    const objects = await renderChart('ugc-etl', embedded);
    const container = containerOf('ugc-etl', objects);
    const env = { ...imageEnv('ugc-etl'), ...resolveEnv(container, noClickHouseSecret) };
    expect(env.CLICKHOUSE_URL).toBeUndefined();
    expect(container.env.map((e) => e.name)).not.toContain('CLICKHOUSE_PASSWORD');
    const config = configModule('ugc-etl').readConfig(env) as Record<string, unknown>;
    expect(config.CLICKHOUSE_URL).toBeUndefined();
    expect(config.CHDB_PATH).toBe('/var/lib/ugc-etl/chdb');
    // Under the read-only root the folder is writable only because an emptyDir is mounted there.
    expect(container.readOnlyRootFilesystem).toBe(true);
    expect(container.writablePaths).toEqual(['/tmp', '/var/lib/ugc-etl/chdb']);
    const spec = deploymentOf(objects).spec as any;
    expect(spec.replicas).toBe(1);
    expect(spec.strategy).toEqual({ type: 'Recreate' });
    expect(spec.template.spec.volumes).toContainEqual({
      name: 'chdb',
      emptyDir: { sizeLimit: '2Gi' },
    });
    expect(objects.filter((o) => o.kind === 'PersistentVolumeClaim')).toEqual([]);
    expect(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toEqual([]);
    // chDB's engine runs in the process: the mode's own resources, not the shared 384Mi.
    expect(spec.template.spec.containers[0].resources).toEqual({
      requests: { cpu: '100m', memory: '512Mi' },
      limits: { memory: '1Gi' },
    });
  });

  test('persistence: a ReadWriteOnce claim of its own (kept on uninstall), or an existing one', async () => {
    const objects = await renderChart('ugc-etl', [
      '-f',
      path.join(ROOT, 'charts', 'ugc-etl', 'ci', 'embedded-values.yaml'),
    ]);
    const [claim, ...more] = objects.filter((o) => o.kind === 'PersistentVolumeClaim');
    expect(more).toEqual([]);
    expect(claim).toMatchObject({
      metadata: {
        name: 'cinema-ugc-etl-chdb',
        annotations: { 'helm.sh/resource-policy': 'keep' },
      },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'standard',
        resources: { requests: { storage: '10Gi' } },
      },
    });
    const volumes = (deploymentOf(objects).spec as any).template.spec.volumes;
    expect(volumes).toContainEqual({
      name: 'chdb',
      persistentVolumeClaim: { claimName: 'cinema-ugc-etl-chdb' },
    });
    const existing = await renderChart('ugc-etl', [
      ...embedded,
      '--set',
      'clickhouse.embedded.storage.type=persistentVolumeClaim',
      '--set',
      'clickhouse.embedded.storage.existingClaim=analytics-data',
    ]);
    expect(existing.filter((o) => o.kind === 'PersistentVolumeClaim')).toEqual([]);
    expect((deploymentOf(existing).spec as any).template.spec.volumes).toContainEqual({
      name: 'chdb',
      persistentVolumeClaim: { claimName: 'analytics-data' },
    });
  });

  test('through the umbrella chart as well (ugc-etl.clickhouse.embedded)', async () => {
    const objects = await renderChart('cinema', [
      '--set',
      'ugc-etl.clickhouse.embedded.enabled=true',
    ]);
    const etl = deploymentOf(objects);
    const map = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'cinema-ugc-etl',
    )!;
    expect(map.data!.CHDB_PATH).toBe('/var/lib/ugc-etl/chdb');
    expect(JSON.stringify(etl)).not.toContain('CLICKHOUSE_URL');
    // The other services are untouched (their pods keep only /tmp, rolling updates).
    const auth = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'cinema-auth')!;
    expect((auth.spec as any).strategy.type).toBe('RollingUpdate');
    expect((auth.spec as any).template.spec.volumes).toHaveLength(1);
  });

  test.each([
    [['--set', 'replicaCount=2'], /replicaCount.*maximum/],
    [['--set', 'autoscaling.enabled=true'], /autoscaling\/enabled/],
    [
      ['--set', 'replicaCount=2', '--skip-schema-validation'],
      /only one process may open a chDB path/,
    ],
    [
      ['--set', 'config.CLICKHOUSE_CLUSTER=events'],
      /CLICKHOUSE_CLUSTER are for a ClickHouse server/,
    ],
    [['--set', 'clickhouse.embedded.path=/tmp/chdb'], /embedded\/path/],
    [['--set', 'clickhouse.embedded.path=relative'], /embedded\/path/],
  ])(
    'refuses %j (one process per chDB path, no server settings, an absolute path of its own)',
    async (args, error) => {
      await expect(renderChart('ugc-etl', [...embedded, ...args])).rejects.toThrow(error);
    },
  );

  test('the default (a ClickHouse server) is unchanged: CLICKHOUSE_URL with the Secret, no chDB volume', async () => {
    const objects = await renderChart('ugc-etl');
    const container = containerOf('ugc-etl', objects);
    const env = resolveEnv(container, secret);
    expect(env.CLICKHOUSE_URL).toBe('http://cinema:cl1ckhouse@clickhouse-cinema:8123');
    expect(env.CHDB_PATH).toBeUndefined();
    expect(container.writablePaths).toEqual(['/tmp']);
    expect((deploymentOf(objects).spec as any).strategy.type).toBe('RollingUpdate');
  });
});
