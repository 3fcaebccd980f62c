/**
 * The level-triggered reconcile of one CinemaPlatform: read it, render every child, apply each
 * (server-side apply under the operator's field manager, so an edited or deleted child comes
 * back), delete children no longer wanted, read each child's readiness from its operator's status
 * and the services' Deployments, and write status (observedGeneration, conditions, components,
 * Secrets). No finalizer: every child is namespaced and carries a controller owner reference, so
 * the garbage collector removes them with the platform; the operator has nothing else to clean up.
 */
import {
  componentStatus,
  childReadiness,
  flipped,
  setCondition,
  type ChildReadiness,
} from './readiness';
import {
  COMPONENT_LABEL,
  keyOf,
  render,
  secretValues,
  wantedSecrets,
  type SecretValues,
  type TopicInput,
} from './render';
import {
  COMPONENTS,
  effectiveSpec,
  PAUSE_ANNOTATION,
  serviceDeploymentName,
  type CinemaPlatform,
  type ComponentStatus,
  type Condition,
  type KubeObject,
  type PlatformStatus,
} from './spec';

/** What the reconciler needs of the cluster (adapters/kube.ts implements it). */
export interface ClusterPort {
  getPlatform(namespace: string, name: string): Promise<CinemaPlatform | undefined>;
  /** Server-side apply (force) under the operator's field manager; returns the live object. */
  apply(obj: KubeObject): Promise<KubeObject>;
  read(
    apiVersion: string,
    kind: string,
    namespace: string,
    name: string,
  ): Promise<KubeObject | undefined>;
  /** The children of the platform the informers see (label-selected). */
  owned(platform: CinemaPlatform): KubeObject[];
  delete(obj: KubeObject): Promise<void>;
  applyStatus(platform: CinemaPlatform, status: PlatformStatus): Promise<void>;
  event(
    platform: CinemaPlatform,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void>;
  /** The current values of the named Secrets (decoded); absent ones are left out. */
  readSecrets(namespace: string, names: string[]): Promise<SecretValues>;
}

export interface ReconcileResult {
  /** Reconcile again after this long (children not ready yet). */
  requeueAfterMs?: number;
  ready?: boolean;
}

export class ApplyError extends Error {
  constructor(readonly failures: string[]) {
    super(`${failures.length} object(s) could not be applied: ${failures[0]}`);
    this.name = 'ApplyError';
  }
}

export interface ReconcilerOptions {
  cluster: ClusterPort;
  topics: readonly TopicInput[];
  generateSecret: () => string;
  now?: () => Date;
  /** Requeue while not ready (the children's informers wake it earlier). */
  notReadyRequeueMs?: number;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function isPaused(platform: CinemaPlatform): boolean {
  return platform.metadata.annotations?.[PAUSE_ANNOTATION] === 'true';
}

export function ownedBy(child: KubeObject, platform: CinemaPlatform): boolean {
  return (
    child.metadata.ownerReferences?.some((r) => r.controller && r.uid === platform.metadata.uid) ??
    false
  );
}

export class Reconciler {
  constructor(private readonly options: ReconcilerOptions) {}

  private get cluster() {
    return this.options.cluster;
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const platform = await this.cluster.getPlatform(namespace, name);
    // Deleted (or being deleted): the garbage collector removes the children by owner reference.
    if (!platform || platform.metadata.deletionTimestamp) return {};
    const now = this.options.now?.() ?? new Date();
    const generation = platform.metadata.generation;
    const before = platform.status?.conditions ?? [];
    let conditions: Condition[] = [...before];
    const set = (c: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>) => {
      conditions = setCondition(conditions, { ...c, observedGeneration: generation }, now);
    };

    if (isPaused(platform)) {
      set({
        type: 'Paused',
        status: 'True',
        reason: 'PauseAnnotation',
        message: `${PAUSE_ANNOTATION} is "true": no child is changed`,
      });
      set({
        type: 'Reconciling',
        status: 'False',
        reason: 'Paused',
        message: 'reconciliation paused',
      });
      await this.writeStatus(platform, { ...(platform.status ?? {}), conditions }, before);
      return {};
    }
    set({ type: 'Paused', status: 'False', reason: 'Reconciling', message: 'not paused' });

    const spec = effectiveSpec(platform.spec ?? {});
    const wanted = wantedSecrets(spec).map((s) => s.name);
    const secrets = secretValues(
      spec,
      await this.cluster.readSecrets(namespace, wanted),
      this.options.generateSecret,
    );
    const desired = render({ platform, topics: this.options.topics, secrets });

    const live = new Map<string, KubeObject>();
    const failures: string[] = [];
    for (const obj of desired) {
      try {
        live.set(keyOf(obj), await this.cluster.apply(obj));
      } catch (err) {
        failures.push(`${obj.kind} ${obj.metadata.name}: ${errorText(err)}`);
      }
    }
    // Children no longer wanted (a component disabled, a topic dropped).
    const desiredKeys = new Set(desired.map(keyOf));
    for (const child of this.cluster.owned(platform)) {
      if (desiredKeys.has(keyOf(child)) || !ownedBy(child, platform)) continue;
      try {
        await this.cluster.delete(child);
      } catch (err) {
        failures.push(`delete ${child.kind} ${child.metadata.name}: ${errorText(err)}`);
      }
    }

    const components: Record<string, ComponentStatus> = {};
    for (const component of COMPONENTS) {
      if (!spec.components[component].enabled) {
        components[component] = { ready: true, reason: 'Disabled', message: 'not enabled' };
        continue;
      }
      const children = desired.filter((o) => o.metadata.labels?.[COMPONENT_LABEL] === component);
      components[component] = componentStatus(
        children.map((o) => live.get(keyOf(o))),
        children.map((o) => `${o.kind}/${o.metadata.name}`),
      );
    }
    components.services = await this.servicesStatus(namespace, spec.services);

    const notReady = Object.entries(components).filter(([, s]) => !s.ready);
    const ready = notReady.length === 0 && failures.length === 0;
    if (failures.length) {
      set({ type: 'Stalled', status: 'True', reason: 'ApplyFailed', message: failures.join('; ') });
    } else {
      set({
        type: 'Stalled',
        status: 'False',
        reason: 'Applied',
        message: `${desired.length} objects applied`,
      });
    }
    if (ready) {
      set({
        type: 'Ready',
        status: 'True',
        reason: 'Ready',
        message: 'every enabled component and service is ready',
      });
      set({ type: 'Reconciling', status: 'False', reason: 'Ready', message: 'nothing to do' });
    } else {
      const [first, status] = notReady[0] ?? [
        'apply',
        { reason: 'ApplyFailed', message: failures[0] ?? '' },
      ];
      set({
        type: 'Ready',
        status: 'False',
        reason: failures.length ? 'ApplyFailed' : `${capitalize(first)}NotReady`,
        message: failures.length ? failures[0]! : `${first}: ${status.message}`,
      });
      set({
        type: 'Reconciling',
        status: failures.length ? 'False' : 'True',
        reason: failures.length ? 'Stalled' : 'Progressing',
        message: failures.length
          ? 'applying failed; retrying with backoff'
          : `waiting for ${notReady.map(([n]) => n).join(', ')}`,
      });
    }
    await this.writeStatus(
      platform,
      {
        observedGeneration: generation,
        conditions,
        components,
        secrets: Object.keys(secrets).sort(),
      },
      before,
    );
    if (failures.length) throw new ApplyError(failures);
    return ready ? { ready } : { ready, requeueAfterMs: this.options.notReadyRequeueMs ?? 30_000 };
  }

  private async servicesStatus(
    namespace: string,
    services: { release: string; names: string[] },
  ): Promise<ComponentStatus> {
    const states: Array<[string, ChildReadiness]> = [];
    for (const name of services.names) {
      const deployment = await this.cluster.read(
        'apps/v1',
        'Deployment',
        namespace,
        serviceDeploymentName(services.release, name),
      );
      states.push([name, childReadiness(deployment)]);
    }
    const bad = states.filter(([, s]) => !s.ready);
    if (!bad.length)
      return { ready: true, reason: 'Ready', message: `${states.length} services available` };
    return {
      ready: false,
      reason: 'ServicesNotAvailable',
      message: bad.map(([n, s]) => `${n}: ${s.message}`).join('; '),
    };
  }

  private async writeStatus(
    platform: CinemaPlatform,
    status: PlatformStatus,
    before: Condition[],
  ): Promise<void> {
    if (JSON.stringify(status) !== JSON.stringify(platform.status ?? {})) {
      await this.cluster.applyStatus(platform, status);
    }
    for (const c of flipped(before, status.conditions ?? [])) {
      // Paused=False on a platform that was never paused is no news.
      if (c.type === 'Paused' && c.status === 'False' && !before.some((b) => b.type === 'Paused'))
        continue;
      const warning =
        (c.type === 'Ready' && c.status === 'False' && before.length > 0) ||
        (c.type === 'Stalled' && c.status === 'True');
      await this.cluster
        .event(
          platform,
          warning ? 'Warning' : 'Normal',
          `${c.type}${c.status}`,
          `${c.type}=${c.status}: ${c.reason}: ${c.message}`.slice(0, 1000),
        )
        .catch(() => undefined);
    }
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
