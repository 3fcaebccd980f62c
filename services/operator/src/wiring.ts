/**
 * Builds the operator once: the cluster client, the reconciler, the controller (informers, work
 * queue, workers) started and stopped by the leader election, and the dependencies the app serves
 * (/readyz checks, metrics).
 */
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import type { Lifecycle, ReadinessCheck, ServiceRuntime } from '@cinema/http';
import { TOPICS } from '@cinema/kafka';
import type { Logger } from '@cinema/logging';
import { Informers } from './adapters/informers';
import { KubeCluster, loadKubeConfig } from './adapters/kube';
import { LeaseElector } from './adapters/lease';
import type { Config } from './config';
import { Controller } from './controller';
import { Reconciler } from './domain/reconciler';

export interface Dependencies {
  config: Pick<Config, 'CORS_ORIGINS' | 'BODY_LIMIT'>;
  logger: Logger;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
  /** Its metrics are registered on the app's registry (createApp calls registerMetrics). */
  controller: Controller;
  elector: LeaseElector;
}

export async function wire({
  config,
  logger,
  lifecycle,
}: ServiceRuntime<Config>): Promise<Dependencies> {
  const kubeConfig = loadKubeConfig(config.KUBECONFIG);
  let informers: Informers | undefined;
  const cluster = new KubeCluster(kubeConfig, () => informers);
  const reconciler = new Reconciler({
    cluster,
    topics: TOPICS,
    generateSecret: () => randomBytes(16).toString('hex'),
    notReadyRequeueMs: config.NOT_READY_REQUEUE_MS,
  });
  const controller = new Controller({
    informers: () => {
      informers = new Informers(kubeConfig, config.WATCH_NAMESPACE, logger);
      return informers;
    },
    reconciler,
    logger,
    workers: config.WORKERS,
    resyncMs: config.RESYNC_MS,
  });
  const elector = new LeaseElector(
    kubeConfig,
    {
      namespace: config.WATCH_NAMESPACE,
      name: config.LEASE_NAME,
      identity: config.POD_NAME ?? `${os.hostname()}-${process.pid}`,
      durationMs: config.LEASE_DURATION_MS,
      renewMs: config.LEASE_RENEW_MS,
      logger,
    },
    {
      started: () => controller.start(),
      stopped: () => void controller.stop(),
    },
  );
  elector.start();
  lifecycle.onShutdown('leader-election', async () => {
    await controller.stop();
    await elector.stop();
  });
  return {
    config,
    logger,
    lifecycle,
    controller,
    elector,
    readiness: {
      apiserver: async () => ({ detail: await cluster.ping() }),
      controller: async () => {
        if (!elector.isLeader) return { detail: 'standby (another instance holds the lease)' };
        const down = controller.informersView?.disconnected() ?? [];
        if (!controller.informersView?.platformsSynced)
          throw new Error('the CinemaPlatform watch is not connected');
        return {
          detail: down.length
            ? `leader; not watching ${down.map((d) => d.kind).join(', ')}`
            : 'leader; every watch connected',
        };
      },
    },
  };
}
