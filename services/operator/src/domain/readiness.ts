/**
 * Readiness of each child from its own operator's status, counted only when that status is about
 * the child's current generation (status.observedGeneration == metadata.generation, where the
 * kind reports one), and the platform's condition arithmetic (metav1.Condition semantics:
 * lastTransitionTime moves only when the status flips).
 */
import type { ComponentStatus, Condition, KubeObject } from './spec';

export interface ChildReadiness {
  ready: boolean;
  reason: string;
  message: string;
}

type Status = Record<string, unknown> & {
  observedGeneration?: number;
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
};

const ok = (message = 'ready'): ChildReadiness => ({ ready: true, reason: 'Ready', message });
const waiting = (reason: string, message: string): ChildReadiness => ({
  ready: false,
  reason,
  message,
});

function conditionTrue(status: Status, type: string): boolean {
  return status.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
}

function conditionMessage(status: Status, type: string): string {
  const c = status.conditions?.find((x) => x.type === type);
  return c
    ? `${type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}`
    : `no ${type} condition`;
}

/** Kinds whose status carries no observedGeneration: their status is taken as it is. */
const NO_OBSERVED_GENERATION = new Set([
  'MongoDBCommunity',
  'Jaeger',
  'ClickHouseInstallation',
  'ClickHouseKeeperInstallation',
]);

/** Kinds that are ready as soon as they exist. */
const PASSIVE = new Set([
  'Secret',
  'Service',
  'ServiceAccount',
  'PodDisruptionBudget',
  'ConfigMap',
]);

export function childReadiness(obj: KubeObject | undefined): ChildReadiness {
  if (!obj) return waiting('Missing', 'not created yet');
  const what = `${obj.kind} ${obj.metadata.name}`;
  if (PASSIVE.has(obj.kind)) return ok(`${what} exists`);
  const status = (obj.status ?? {}) as Status;
  const generation = obj.metadata.generation;
  if (!NO_OBSERVED_GENERATION.has(obj.kind)) {
    if (status.observedGeneration === undefined)
      return waiting('NotObserved', `${what}: no status reported yet`);
    if (generation !== undefined && status.observedGeneration < generation)
      return waiting(
        'Stale',
        `${what}: status of generation ${status.observedGeneration}, current is ${generation}`,
      );
  }
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  switch (obj.kind) {
    case 'Kafka':
    case 'KafkaTopic':
      return conditionTrue(status, 'Ready')
        ? ok(`${what} Ready`)
        : waiting('NotReady', `${what}: ${conditionMessage(status, 'Ready')}`);
    case 'KafkaNodePool': {
      // No conditions: ready when its nodes are the wanted number.
      const wanted = spec.replicas as number;
      return status.replicas === wanted
        ? ok(`${what}: ${wanted} nodes`)
        : waiting('Scaling', `${what}: ${String(status.replicas ?? 0)}/${wanted} nodes`);
    }
    case 'Elasticsearch':
      return status.health === 'green' && status.phase === 'Ready'
        ? ok(`${what} green`)
        : waiting(
            'NotReady',
            `${what}: health ${String(status.health ?? '?')}, phase ${String(status.phase ?? '?')}`,
          );
    case 'Kibana':
    case 'Beat':
      return status.health === 'green'
        ? ok(`${what} green`)
        : waiting('NotReady', `${what}: health ${String(status.health ?? '?')}`);
    case 'ClickHouseInstallation':
    case 'ClickHouseKeeperInstallation':
      return status.status === 'Completed'
        ? ok(`${what} Completed`)
        : waiting('NotReady', `${what}: status ${String(status.status ?? '?')}`);
    case 'MongoDBCommunity':
      return status.phase === 'Running'
        ? ok(`${what} Running`)
        : waiting('NotReady', `${what}: phase ${String(status.phase ?? '?')}`);
    case 'RabbitmqCluster':
      return conditionTrue(status, 'AllReplicasReady') && conditionTrue(status, 'ClusterAvailable')
        ? ok(`${what} available`)
        : waiting(
            'NotReady',
            `${what}: ${conditionMessage(status, 'AllReplicasReady')}; ${conditionMessage(status, 'ClusterAvailable')}`,
          );
    case 'Jaeger':
      return status.phase === 'Running'
        ? ok(`${what} Running`)
        : waiting('NotReady', `${what}: phase ${String(status.phase ?? '?')}`);
    case 'StatefulSet': {
      const wanted = (spec.replicas as number | undefined) ?? 1;
      const ready = (status.readyReplicas as number | undefined) ?? 0;
      return ready >= wanted
        ? ok(`${what}: ${ready}/${wanted} ready`)
        : waiting('NotReady', `${what}: ${ready}/${wanted} ready`);
    }
    case 'Deployment': {
      // Available (the controller's minimum availability) and at least one pod serving.
      const wanted = (spec.replicas as number | undefined) ?? 1;
      const available = (status.availableReplicas as number | undefined) ?? 0;
      if (!conditionTrue(status, 'Available'))
        return waiting('NotReady', `${what}: ${conditionMessage(status, 'Available')}`);
      return available >= Math.min(wanted, 1)
        ? ok(`${what}: ${available}/${wanted} available`)
        : waiting('NotReady', `${what}: ${available}/${wanted} available`);
    }
    default:
      return ok(`${what} exists`);
  }
}

/** A component is ready when all its children are; the reason and message of the first that is not. */
export function componentStatus(
  children: Array<KubeObject | undefined>,
  names: string[],
): ComponentStatus {
  const states = children.map(childReadiness);
  const notReady = states.map((s, i) => ({ s, name: names[i] })).filter(({ s }) => !s.ready);
  if (!notReady.length)
    return { ready: true, reason: 'Ready', message: `${children.length} ready` };
  const first = notReady[0]!;
  return {
    ready: false,
    reason: first.s.reason,
    message:
      notReady.length > 1
        ? `${first.s.message} (and ${notReady.length - 1} more not ready)`
        : first.s.message,
  };
}

/**
 * Sets a condition in the list (a new list): lastTransitionTime changes only when the status
 * changes; reason, message and observedGeneration are always updated.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const previous = index >= 0 ? list[index] : undefined;
  const condition: Condition = {
    ...next,
    lastTransitionTime:
      previous && previous.status === next.status ? previous.lastTransitionTime : now.toISOString(),
  };
  if (index >= 0) list[index] = condition;
  else list.push(condition);
  return list;
}

/** The conditions whose status differs between two lists (for Events). */
export function flipped(
  before: readonly Condition[] | undefined,
  after: readonly Condition[],
): Condition[] {
  return after.filter((c) => before?.find((b) => b.type === c.type)?.status !== c.status);
}
