/**
 * Leader election on a coordination.k8s.io/v1 Lease (client-go's leaderelection, which
 * client-node does not have): the holder renews every `renewMs`; a candidate takes the lease
 * when its record has not changed for `durationMs` as seen by the candidate's own clock (no clock
 * comparison across machines); every write carries the resourceVersion read, so two candidates
 * cannot both win. The leader that cannot renew within the lease duration steps down; on
 * shutdown it releases the lease so another takes over at once.
 */
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '@cinema/logging';
import { statusOf } from './kube';

export interface LeaseOptions {
  namespace: string;
  name: string;
  identity: string;
  durationMs: number;
  renewMs: number;
  logger: Logger;
}

interface LeaseObject extends k8s.KubernetesObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** RFC 3339 with microseconds (MicroTime). */
const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaseElector {
  private leader = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private observed?: { key: string; at: number };
  private lastRenew = 0;
  private readonly objects: k8s.KubernetesObjectApi;

  constructor(
    kubeConfig: k8s.KubeConfig,
    private readonly options: LeaseOptions,
    private readonly callbacks: { started: () => void; stopped: () => void },
  ) {
    this.objects = k8s.KubernetesObjectApi.makeApiClient(kubeConfig);
  }

  get isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    const tick = async () => {
      if (this.stopped) return;
      try {
        const won = await this.tryAcquireOrRenew();
        if (won) this.lastRenew = Date.now();
        if (won && !this.leader) {
          this.leader = true;
          this.options.logger.info(
            { lease: this.options.name, identity: this.options.identity },
            'became the leader',
          );
          this.callbacks.started();
        }
      } catch (err) {
        this.options.logger.warn({ err, lease: this.options.name }, 'lease request failed');
      }
      if (this.leader && Date.now() - this.lastRenew > this.options.durationMs) {
        this.leader = false;
        this.options.logger.warn(
          { lease: this.options.name },
          'could not renew the lease in time: stepping down',
        );
        this.callbacks.stopped();
      }
      if (!this.stopped) {
        this.timer = setTimeout(tick, this.options.renewMs);
      }
    };
    void tick();
  }

  private lease(spec: LeaseObject['spec'], resourceVersion?: string): LeaseObject {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.options.name,
        namespace: this.options.namespace,
        ...(resourceVersion ? { resourceVersion } : {}),
      },
      spec,
    };
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { identity } = this.options;
    const seconds = Math.max(1, Math.ceil(this.options.durationMs / 1000));
    const now = new Date();
    let current: LeaseObject;
    try {
      current = (await this.objects.read(this.lease(undefined))) as LeaseObject;
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      try {
        await this.objects.create(
          this.lease({
            holderIdentity: identity,
            leaseDurationSeconds: seconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          }),
        );
        return true;
      } catch (e) {
        if (statusOf(e) === 409) return false;
        throw e;
      }
    }
    const spec = current.spec ?? {};
    const key = `${spec.holderIdentity ?? ''}|${spec.renewTime ?? ''}`;
    if (this.observed?.key !== key) this.observed = { key, at: Date.now() };
    const held = spec.holderIdentity === identity;
    const free = !spec.holderIdentity;
    const expired = Date.now() - this.observed.at > (spec.leaseDurationSeconds ?? seconds) * 1000;
    if (!held && !free && !expired) return false;
    try {
      await this.objects.replace(
        this.lease(
          {
            holderIdentity: identity,
            leaseDurationSeconds: seconds,
            acquireTime: held ? spec.acquireTime : microTime(now),
            renewTime: microTime(now),
            leaseTransitions: (spec.leaseTransitions ?? 0) + (held ? 0 : 1),
          },
          current.metadata?.resourceVersion,
        ),
      );
      return true;
    } catch (err) {
      if (statusOf(err) === 409) return false;
      throw err;
    }
  }

  /** Stops contesting; a leader gives the lease up (holder cleared). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leader) return;
    this.leader = false;
    try {
      const current = (await this.objects.read(this.lease(undefined))) as LeaseObject;
      if (current.spec?.holderIdentity === this.options.identity) {
        await this.objects.replace(
          this.lease(
            { ...current.spec, holderIdentity: undefined, leaseDurationSeconds: 1 },
            current.metadata?.resourceVersion,
          ),
        );
      }
    } catch (err) {
      this.options.logger.warn({ err }, 'could not release the lease');
    }
  }
}
