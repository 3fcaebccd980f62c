/**
 * helm lint and helm template of every chart, with default and full values, using the helm the
 * stack builds from its Go module; checks of what the charts render.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { TOPICS } from '@cinema/kafka';
import { parse } from 'yaml';
import { kubeTools, type KubeTools } from '@cinema/stack';
import {
  CHARTS,
  chartNames,
  ciValuesFiles,
  exec,
  goModuleDir,
  parseManifests,
  podSpecOf,
  ROOT,
  serviceNames,
  servicePackage,
  type K8sObject,
} from './support';

/* eslint-disable @typescript-eslint/no-explicit-any */

let tools: KubeTools;

/** First run on a machine builds helm/kubectl/etcd/kube-apiserver (about 15 CPU-minutes). */
beforeAll(async () => {
  tools = await kubeTools();
  await exec('sh', [path.join(CHARTS, 'build-deps.sh')], {
    env: { ...process.env, HELM: tools.helm },
  });
}, 45 * 60_000);

async function helm(args: string[]): Promise<string> {
  return (await exec(tools.helm, args)).stdout;
}

async function template(chart: string, args: string[] = []): Promise<K8sObject[]> {
  return parseManifests(
    await helm(['template', 'cinema', path.join(CHARTS, chart), '--namespace', 'cinema', ...args]),
  );
}

function fullValues(chart: string): string[] {
  const file = path.join(CHARTS, chart, 'ci', 'full-values.yaml');
  return fs.existsSync(file) ? ['-f', file] : [];
}

const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);

describe('helm lint', () => {
  it('passes for every chart with default values and each of its ci/*-values.yaml', async () => {
    const charts = chartNames();
    expect(charts).toEqual(expect.arrayContaining(['cinema', 'cinema-common', ...serviceNames()]));
    for (const chart of charts) {
      for (const values of [[], ...ciValuesFiles(chart).map((f) => ['-f', f])]) {
        const out = await helm(['lint', path.join(CHARTS, chart), ...values]);
        expect(out).toContain('0 chart(s) failed');
        expect(out).not.toMatch(/\[ERROR\]/);
      }
    }
  });

  it('rejects values that break a chart schema', async () => {
    await expect(
      helm(['lint', path.join(CHARTS, 'auth'), '--set', 'workload.kind=Job']),
    ).rejects.toThrow(/workload\.kind|kind/);
    await expect(
      template('auth', ['--set', 'podSecurityContext.runAsNonRoot=false']),
    ).rejects.toThrow(/runAsNonRoot/);
    await expect(template('cinema', ['--set', 'gateway.routes.nope[0]=/x'])).rejects.toThrow(
      /routes/,
    );
  });
});

describe.each(serviceNames())('chart %s', (svc) => {
  const { port } = servicePackage(svc).cinema;

  it.each([
    ['default', false],
    ['full', true],
  ])(
    'renders a hardened workload, Service, ConfigMap and test hook (%s values)',
    async (_, full) => {
      const objects = await template(svc, full ? fullValues(svc) : []);
      const cron = byKind(objects, 'CronJob');
      const deployments = byKind(objects, 'Deployment');
      expect(cron.length + deployments.length).toBe(1);
      const workload = (cron[0] ?? deployments[0])!;
      expect(workload.metadata.name).toBe(`cinema-${svc}`);
      expect(workload.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': svc,
        'app.kubernetes.io/instance': 'cinema',
        'app.kubernetes.io/part-of': 'cinema',
      });
      const pod = podSpecOf(workload) as any;
      const tmpl = cron.length
        ? (workload.spec as any).jobTemplate.spec.template
        : (workload.spec as any).template;
      expect(tmpl.metadata.annotations['checksum/config']).toMatch(/^[a-f0-9]{64}$/);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      // The API token is mounted only where the Kubernetes API is called (the operator).
      const automount = svc === 'operator';
      expect(pod.automountServiceAccountToken).toBe(automount);
      for (const sa of byKind(objects, 'ServiceAccount'))
        expect(sa.automountServiceAccountToken).toBe(automount);
      const [container] = pod.containers;
      expect(container.image).toBe(full ? `cinema/${svc}:1.2.3` : `cinema/${svc}:0.1.0`);
      expect(container.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(container.resources.requests).toEqual(
        expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }),
      );
      expect(container.resources.limits.memory).toBeDefined();
      expect(container.ports[0].containerPort).toBe(port);
      expect(container.envFrom[0].configMapRef.name).toBe(`cinema-${svc}`);

      const [config] = byKind(objects, 'ConfigMap');
      expect(config!.data).toMatchObject({ HOST: '0.0.0.0', PORT: String(port) });
      for (const key of Object.keys(config!.data!)) expect(key).toMatch(/^[A-Z_][A-Z0-9_]*$/);
      // Secrets are referenced, never rendered into the ConfigMap.
      expect(JSON.stringify(config!.data)).not.toMatch(/password|secret/i);
      expect(byKind(objects, 'Secret')).toHaveLength(0);

      if (deployments.length) {
        expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
        expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
        const [service] = byKind(objects, 'Service');
        expect((service!.spec as any).selector).toEqual(
          (workload.spec as any).selector.matchLabels,
        );
        const hooks = byKind(objects, 'Pod').filter(
          (p) => p.metadata.annotations?.['helm.sh/hook'] === 'test',
        );
        expect(hooks).toHaveLength(1);
        expect(JSON.stringify(hooks[0]!.spec)).toContain(`http://cinema-${svc}:80/readyz`);
        if (full) {
          expect(byKind(objects, 'HorizontalPodAutoscaler')).toHaveLength(1);
          expect((workload.spec as any).replicas).toBeUndefined();
          expect(byKind(objects, 'PodDisruptionBudget')).toHaveLength(1);
        }
      } else {
        expect(full).toBe(true);
        expect(container.livenessProbe).toBeUndefined();
        expect(container.args).toEqual(['dist/main.js', '--once']);
        expect(byKind(objects, 'Service')).toHaveLength(0);
      }
    },
  );

  it('rolls the pods when the configuration changes (checksum annotation)', async () => {
    const annotation = async (args: string[]) => {
      const objects = await template(svc, args);
      const w = (byKind(objects, 'Deployment')[0] ?? byKind(objects, 'CronJob')[0])!;
      const spec = w.spec as any;
      return (spec.template ?? spec.jobTemplate.spec.template).metadata.annotations[
        'checksum/config'
      ] as string;
    };
    const base = await annotation([]);
    expect(await annotation([])).toBe(base);
    expect(await annotation(['--set', 'config.LOG_LEVEL=warn'])).not.toBe(base);
  });
});

describe('umbrella chart cinema', () => {
  const services = serviceNames();

  it('renders every enabled service and the gateway; <service>.enabled switches one off', async () => {
    const all = await template('cinema');
    const workloads = [...byKind(all, 'Deployment'), ...byKind(all, 'CronJob')].map(
      (o) => o.metadata.name,
    );
    expect(workloads.sort()).toEqual(
      ['cinema-gateway', ...services.map((s) => `cinema-${s}`)].sort(),
    );
    const without = await template('cinema', ['--set', 'auth.enabled=false']);
    expect(without.some((o) => o.metadata.name === 'cinema-auth')).toBe(false);
    const conf = byKind(without, 'ConfigMap').find((c) => c.metadata.name === 'cinema-gateway')!
      .data!['nginx.conf']!;
    expect(conf).not.toContain('/api/v1/auth');
    expect(conf).not.toMatch(/upstream auth\b/);
  });

  it('routes every public path of every service through the gateway, with a JSON access log', async () => {
    const objects = await template('cinema');
    const conf = byKind(objects, 'ConfigMap').find((c) => c.metadata.name === 'cinema-gateway')!
      .data!['nginx.conf']!;
    let routes = 0;
    for (const svc of services) {
      for (const route of servicePackage(svc).cinema.routes ?? []) {
        const block = new RegExp(
          `location \\^~ ${route.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\{\\s*proxy_pass http://${svc};`,
        );
        expect(conf).toMatch(block);
        routes++;
      }
      if ((servicePackage(svc).cinema.routes ?? []).length) {
        expect(conf).toContain(`server cinema-${svc}:80;`);
      }
    }
    expect(routes).toBeGreaterThan(10);
    expect(conf).toMatch(/log_format gateway_json escape=json/);
    expect(conf).toMatch(/access_log \/dev\/stdout gateway_json;/);
    // The log format is a JSON object once nginx fills in the variables.
    const format = [...conf.matchAll(/^\s*'(.*)'[;]?$/gm)].map((m) => m[1]).join('');
    const sample = format.replace(/\$[a-z_0-9]+/g, (v) =>
      ['$status', '$request_time', '$body_bytes_sent'].includes(v) ? '1' : 'x',
    );
    expect(Object.keys(JSON.parse(sample) as object)).toEqual(
      expect.arrayContaining(['time', 'request_id', 'method', 'path', 'status', 'duration']),
    );
  });

  it('declares each platform Kafka topic once, in the chart of the service that produces it', async () => {
    const topics = byKind(await template('cinema'), 'KafkaTopic');
    const owners = new Map<string, string>();
    for (const t of topics) {
      const name = (t.spec as { topicName: string }).topicName;
      expect(owners.has(name)).toBe(false);
      owners.set(name, t.metadata.labels!['app.kubernetes.io/name']!);
      expect(t.metadata.labels!['strimzi.io/cluster']).toBe('cinema-kafka');
    }
    // The declarations of docs/contracts.md, as code: exactly these, each in its producer's chart.
    expect(TOPICS.length).toBeGreaterThanOrEqual(10);
    expect(Object.fromEntries(owners)).toEqual(
      Object.fromEntries(TOPICS.map((t) => [t.name, t.producer])),
    );
    expect(owners.get('tracking.clicks_on_video.pauses')).toBe('ugc-collector');
    expect(owners.get('tracking.page_views.get_films')).toBe('catalog-api');
  });

  it.each([
    'ci/full-values.yaml',
    'profiles/dev.yaml',
    'profiles/ci.yaml',
    'profiles/tilt.yaml',
    'profiles/production.yaml',
  ])('renders with %s', async (file) => {
    const objects = await template('cinema', ['-f', path.join(CHARTS, 'cinema', file)]);
    expect(byKind(objects, 'Deployment').length).toBeGreaterThanOrEqual(services.length);
  });
});

describe('skaffold.yaml', () => {
  /** Skaffold release whose newest config schema skaffold.yaml uses. */
  const SKAFFOLD = { module: 'github.com/GoogleContainerTools/skaffold/v2', version: 'v2.16.1' };

  it('is valid against the current skaffold schema, from the skaffold module', async () => {
    const dir = path.join(
      await goModuleDir(SKAFFOLD.module, SKAFFOLD.version),
      'docs-v2',
      'content',
      'en',
      'schemas',
    );
    const newest = fs
      .readdirSync(dir)
      .filter((f) => /^v\d+(alpha|beta)?\d*\.json$/.test(f))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
      .at(-1)!;
    const config = parse(fs.readFileSync(path.join(ROOT, 'skaffold.yaml'), 'utf8')) as {
      apiVersion: string;
      build: { artifacts: Array<{ docker: Record<string, unknown> }> };
    };
    expect(config.apiVersion).toBe(`skaffold/${newest.replace(/\.json$/, '')}`);
    const ajv = new Ajv({ allErrors: true, unknownFormats: 'ignore' });
    const validate = ajv.compile(JSON.parse(fs.readFileSync(path.join(dir, newest), 'utf8')));
    expect(validate(config) ? [] : validate.errors).toEqual([]);
    // The schema does catch mistakes.
    const broken = structuredClone(config);
    broken.build.artifacts[0]!.docker.buildArg = { SERVICE: 'auth' };
    expect(validate(broken)).toBe(false);
  });
});
