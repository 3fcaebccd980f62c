/**
 * What a service chart renders for its container (helm template), reduced to what a container
 * runtime needs: the environment with Kubernetes' rules (envFrom ConfigMaps first, then `env` in
 * order, Secret references filled by the caller, `$(VAR)` expanded from the variables defined
 * before), command and args, user, read-only root, capabilities, writable mounts, probes and the
 * termination grace period.
 */
import * as path from 'node:path';
import { kubeTools } from '@cinema/stack';
import { CHARTS, exec, parseManifests, podSpecOf, type K8sObject } from '../k8s/support';

/* eslint-disable @typescript-eslint/no-explicit-any */

export interface Probe {
  path: string;
  port: number;
  periodSeconds: number;
  failureThreshold: number;
  timeoutSeconds: number;
  initialDelaySeconds: number;
}

export interface RenderedContainer {
  service: string;
  kind: string;
  image: string;
  port: number;
  command: string[];
  args: string[];
  /** envFrom (ConfigMaps) then env, unexpanded; secret refs as {secret, key, optional}. */
  env: Array<{
    name: string;
    value?: string;
    secret?: { name: string; key: string; optional: boolean };
  }>;
  runAsUser?: number;
  runAsGroup?: number;
  readOnlyRootFilesystem: boolean;
  allowPrivilegeEscalation: boolean;
  dropCapabilities: string[];
  addCapabilities: string[];
  /** emptyDir mounts: the only writable paths under a read-only root. */
  writablePaths: string[];
  /** The sizeLimit of each of those emptyDirs, by mount path, where the chart sets one. */
  writableSizeLimits: Record<string, string>;
  /** resources.limits.memory (a quantity), applied to the container as the kubelet does. */
  memoryLimit?: string;
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  terminationGracePeriodSeconds: number;
}

let helmBin: Promise<string> | undefined;

/** helm of the stack (built from its Go module on first use) with the chart dependencies vendored. */
export function helm(): Promise<string> {
  helmBin ??= (async () => {
    const tools = await kubeTools();
    await exec('sh', [path.join(CHARTS, 'build-deps.sh')], {
      env: { ...process.env, HELM: tools.helm },
    });
    return tools.helm;
  })();
  return helmBin;
}

export async function renderChart(
  chart: string,
  args: string[] = [],
  where: { release?: string; namespace?: string } = {},
): Promise<K8sObject[]> {
  const { stdout } = await exec(await helm(), [
    'template',
    where.release ?? 'cinema',
    path.join(CHARTS, chart),
    '--namespace',
    where.namespace ?? 'cinema',
    ...args,
  ]);
  return parseManifests(stdout);
}

function probe(raw: any, ports: Record<string, number>): Probe | undefined {
  if (!raw) return undefined;
  if (!raw.httpGet) throw new Error(`probe without httpGet: ${JSON.stringify(raw)}`);
  const port = typeof raw.httpGet.port === 'number' ? raw.httpGet.port : ports[raw.httpGet.port];
  if (port === undefined) throw new Error(`probe on an unknown port ${raw.httpGet.port}`);
  return {
    path: raw.httpGet.path,
    port,
    periodSeconds: raw.periodSeconds ?? 10,
    failureThreshold: raw.failureThreshold ?? 3,
    timeoutSeconds: raw.timeoutSeconds ?? 1,
    initialDelaySeconds: raw.initialDelaySeconds ?? 0,
  };
}

/**
 * The service's own container from `objects` (its chart rendered): the workload of `kind`
 * (Deployment by default; CronJob for catalog-etl's scheduled form).
 */
export function containerOf(
  service: string,
  objects: K8sObject[],
  kind = 'Deployment',
): RenderedContainer {
  const workload = objects.find(
    (o) => o.kind === kind && !o.metadata.annotations?.['helm.sh/hook'],
  );
  if (!workload) throw new Error(`${service}: the chart renders no ${kind}`);
  const pod = podSpecOf(workload) as any;
  const container = (pod.containers as any[]).find((c) => c.name === service) ?? pod.containers[0];
  const ports: Record<string, number> = Object.fromEntries(
    (container.ports ?? []).map((p: any) => [p.name, p.containerPort]),
  );
  const env: RenderedContainer['env'] = [];
  for (const from of container.envFrom ?? []) {
    if (from.secretRef) throw new Error(`${service}: envFrom secretRef is not supported here`);
    const map = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef.name,
    );
    if (!map) throw new Error(`${service}: ConfigMap ${from.configMapRef.name} is not rendered`);
    for (const [name, value] of Object.entries(map.data ?? {}))
      env.push({ name: `${from.prefix ?? ''}${name}`, value: String(value) });
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom?.secretKeyRef)
      env.push({
        name: e.name,
        secret: {
          name: e.valueFrom.secretKeyRef.name,
          key: e.valueFrom.secretKeyRef.key,
          optional: !!e.valueFrom.secretKeyRef.optional,
        },
      });
    else if (e.valueFrom)
      throw new Error(`${service}: env ${e.name} from ${Object.keys(e.valueFrom)}`);
    else env.push({ name: e.name, value: String(e.value ?? '') });
  }
  const podSc = pod.securityContext ?? {};
  const sc = container.securityContext ?? {};
  const mounts = (container.volumeMounts ?? []) as Array<{ name: string; mountPath: string }>;
  const volumes = (pod.volumes ?? []) as Array<{
    name: string;
    emptyDir?: { sizeLimit?: string | number };
  }>;
  const emptyDirOf = (m: { name: string }) => volumes.find((v) => v.name === m.name)?.emptyDir;
  const writable = mounts.filter((m) => emptyDirOf(m) !== undefined);
  const writablePaths = writable.map((m) => m.mountPath);
  const writableSizeLimits: Record<string, string> = {};
  for (const m of writable) {
    const limit = emptyDirOf(m)?.sizeLimit;
    if (limit !== undefined) writableSizeLimits[m.mountPath] = String(limit);
  }
  return {
    service,
    kind,
    image: container.image,
    port: ports.http ?? Object.values(ports)[0] ?? 0,
    command: container.command ?? [],
    args: container.args ?? [],
    env,
    runAsUser: sc.runAsUser ?? podSc.runAsUser,
    runAsGroup: sc.runAsGroup ?? podSc.runAsGroup,
    readOnlyRootFilesystem: !!sc.readOnlyRootFilesystem,
    allowPrivilegeEscalation: sc.allowPrivilegeEscalation !== false,
    dropCapabilities: sc.capabilities?.drop ?? [],
    addCapabilities: sc.capabilities?.add ?? [],
    writablePaths,
    writableSizeLimits,
    memoryLimit:
      container.resources?.limits?.memory !== undefined
        ? String(container.resources.limits.memory)
        : undefined,
    startupProbe: probe(container.startupProbe, ports),
    readinessProbe: probe(container.readinessProbe, ports),
    livenessProbe: probe(container.livenessProbe, ports),
    terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds ?? 30,
  };
}

/** A Kubernetes quantity of bytes (64Mi, 2Gi, 500M, 1e3, plain bytes) as a number of bytes. */
export function quantityBytes(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity.trim());
  if (!m) throw new Error(`${quantity}: not a byte quantity this runner understands`);
  const unit: Record<string, number> = {
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Math.ceil(Number(m[1]) * (m[2] ? unit[m[2]]! : 1));
}

/** `$(VAR)` expansion as the kubelet does it: defined names only, `$$` escapes, others kept. */
export function expand(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name?: string) => {
    if (match === '$$') return '$';
    return name !== undefined && Object.hasOwn(vars, name) ? vars[name]! : match;
  });
}

/**
 * The container's environment: Secret references through `secret` (undefined for an optional
 * one that is absent, which the kubelet then leaves unset; a required one must exist), values
 * expanded from the variables defined before them.
 */
export function resolveEnv(
  container: RenderedContainer,
  secret: (name: string, key: string) => string | undefined,
): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const e of container.env) {
    if (e.secret) {
      const value = secret(e.secret.name, e.secret.key);
      if (value === undefined) {
        if (e.secret.optional) continue;
        throw new Error(
          `${container.service}: ${e.name} needs Secret ${e.secret.name} key ${e.secret.key}, which the test has no value for`,
        );
      }
      vars[e.name] = value;
    } else {
      vars[e.name] = expand(e.value ?? '', vars);
    }
  }
  return vars;
}

/** The container's command line as the kubelet builds it (image ENTRYPOINT/CMD when empty). */
export function commandLine(
  container: RenderedContainer,
  env: Record<string, string>,
): { entrypoint?: string[]; args?: string[] } {
  return {
    entrypoint: container.command.length ? container.command.map((c) => expand(c, env)) : undefined,
    args: container.args.length ? container.args.map((a) => expand(a, env)) : undefined,
  };
}
