/**
 * Informers (client-node's ListWatch: list, then watch from the list's resourceVersion, keeping a
 * cache) on the CinemaPlatforms of one namespace, on every owned kind, label-selected
 * (`app.kubernetes.io/managed-by=cinema-operator`), and on the platform's service Deployments the
 * Helm charts made (`app.kubernetes.io/part-of=cinema`), so a change of their availability is
 * reported at once. A watch that fails (API server restarted, a
 * kind whose CRD is not installed yet) is restarted after an exponential backoff with jitter.
 */
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '@cinema/logging';
import { collectionPath, OWNED_KINDS, type KindInfo } from '../domain/kinds';
import {
  API_VERSION,
  FIELD_MANAGER,
  KIND,
  MANAGED_BY_LABEL,
  PART_OF_SELECTOR,
  PLURAL,
  type CinemaPlatform,
  type KubeObject,
} from '../domain/spec';

type Informer = k8s.Informer<k8s.KubernetesObject> & k8s.ObjectCache<k8s.KubernetesObject>;

type Role = 'platform' | 'child' | 'service';

interface Watched {
  role: Role;
  kind: KindInfo;
  informer: Informer;
  connected: boolean;
  failures: number;
  timer?: NodeJS.Timeout;
  lastError?: string;
}

export interface InformerEvents {
  platform: (platform: CinemaPlatform) => void;
  child: (child: KubeObject) => void;
  /** A Deployment of the service charts (not the operator's): its availability changed. */
  service: (deployment: KubeObject) => void;
}

export class Informers {
  private readonly watched: Watched[] = [];
  private stopped = true;

  constructor(
    private readonly kubeConfig: k8s.KubeConfig,
    private readonly namespace: string,
    private readonly logger: Logger,
    private readonly maxBackoffMs = 30_000,
  ) {}

  start(events: InformerEvents): void {
    this.stopped = false;
    const objects = k8s.KubernetesObjectApi.makeApiClient(this.kubeConfig);
    const selector = `${MANAGED_BY_LABEL}=${FIELD_MANAGER}`;
    const kinds: Array<{
      role: Role;
      kind: KindInfo;
      selector?: string;
      on: (o: KubeObject) => void;
    }> = [
      {
        role: 'platform',
        kind: { apiVersion: API_VERSION, kind: KIND, plural: PLURAL },
        on: (o) => events.platform(o as unknown as CinemaPlatform),
      },
      ...OWNED_KINDS.map((kind) => ({ role: 'child' as const, kind, selector, on: events.child })),
      {
        role: 'service',
        kind: { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
        selector: PART_OF_SELECTOR,
        on: events.service,
      },
    ];
    for (const { role, kind, selector: labelSelector, on } of kinds) {
      const informer = k8s.makeInformer(
        this.kubeConfig,
        collectionPath(kind, this.namespace),
        async () => {
          const list = await objects.list(
            kind.apiVersion,
            kind.kind,
            this.namespace,
            undefined,
            undefined,
            undefined,
            undefined,
            labelSelector,
          );
          // A list's items carry no apiVersion/kind (watch events do); the cache needs both (the
          // reconciler keys children by kind, and deletes the ones it does not want).
          for (const item of list.items) {
            item.apiVersion ??= kind.apiVersion;
            item.kind ??= kind.kind;
          }
          return list;
        },
        labelSelector,
      ) as Informer;
      const w: Watched = { role, kind, informer, connected: false, failures: 0 };
      const handler = (o: k8s.KubernetesObject) => on(o as KubeObject);
      informer.on('add', handler);
      informer.on('update', handler);
      informer.on('delete', handler);
      informer.on('connect', () => {
        w.connected = true;
        w.failures = 0;
        w.lastError = undefined;
      });
      informer.on('error', (err: unknown) => this.restart(w, err));
      this.watched.push(w);
      this.begin(w);
    }
  }

  private begin(w: Watched): void {
    if (this.stopped) return;
    w.informer.start().catch((err: unknown) => this.restart(w, err));
  }

  private restart(w: Watched, err: unknown): void {
    if (this.stopped || w.timer) return;
    w.connected = false;
    w.failures += 1;
    const base = Math.min(this.maxBackoffMs, 250 * 2 ** Math.min(w.failures - 1, 10));
    const delay = Math.round(base * (0.8 + 0.2 * Math.random()));
    const message = err instanceof Error ? err.message : String(err);
    w.lastError = message;
    const log =
      w.failures === 1 ? this.logger.warn.bind(this.logger) : this.logger.debug.bind(this.logger);
    log(
      { kind: w.kind.kind, role: w.role, err: message, retryInMs: delay, failures: w.failures },
      'watch failed; restarting',
    );
    w.timer = setTimeout(() => {
      w.timer = undefined;
      this.begin(w);
    }, delay);
    w.timer.unref();
  }

  /** Every owned object the caches hold in the namespace. */
  children(namespace: string): KubeObject[] {
    return this.watched
      .filter((w) => w.role === 'child')
      .flatMap((w) => w.informer.list(namespace) as unknown as KubeObject[]);
  }

  platforms(): CinemaPlatform[] {
    const w = this.watched.find((x) => x.role === 'platform');
    return (w?.informer.list(this.namespace) ?? []) as unknown as CinemaPlatform[];
  }

  /** Kinds whose watch is not connected (and why). */
  disconnected(): Array<{ kind: string; error?: string }> {
    return this.watched
      .filter((w) => !w.connected)
      .map((w) => ({
        kind: w.role === 'service' ? 'Deployment (services)' : w.kind.kind,
        error: w.lastError,
      }));
  }

  get platformsSynced(): boolean {
    return this.watched.find((x) => x.role === 'platform')?.connected ?? false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.watched.splice(0)) {
      if (w.timer) clearTimeout(w.timer);
      await w.informer.stop().catch(() => undefined);
    }
  }
}
