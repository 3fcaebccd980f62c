/**
 * The controller: informer events (a platform, a child labelled with its platform, or a service
 * Deployment a platform expects) put the platform's key `namespace/name` on the work queue; workers reconcile one key at a time, retry
 * failures with backoff, requeue platforms that are not ready, and every platform is resynced
 * periodically. Runs only while this instance leads (see adapters/lease.ts).
 */
import * as client from 'prom-client';
import type { Logger } from '@cinema/logging';
import type { Informers } from './adapters/informers';
import { WorkQueue } from './domain/queue';
import type { Reconciler } from './domain/reconciler';
import { PLATFORM_LABEL, platformsExpecting, type KubeObject } from './domain/spec';

export interface ControllerOptions {
  informers: () => Informers;
  reconciler: Reconciler;
  logger: Logger;
  workers: number;
  resyncMs: number;
}

export class Controller {
  private queue?: WorkQueue;
  private informers?: Informers;
  private resync?: NodeJS.Timeout;
  private running?: Promise<void>;
  readonly metrics: {
    reconciles: client.Counter;
    errors: client.Counter;
    duration: client.Histogram;
    depth: client.Gauge;
    leader: client.Gauge;
  } = {
    reconciles: new client.Counter({
      name: 'operator_reconciles_total',
      help: 'Reconciles by result (ready, not_ready, error)',
      labelNames: ['result'],
      registers: [],
    }),
    errors: new client.Counter({
      name: 'operator_reconcile_errors_total',
      help: 'Reconciles that failed (retried with backoff)',
      registers: [],
    }),
    duration: new client.Histogram({
      name: 'operator_reconcile_duration_seconds',
      help: 'Duration of one reconcile',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [],
    }),
    depth: new client.Gauge({
      name: 'operator_workqueue_depth',
      help: 'Keys waiting in the work queue',
      registers: [],
      collect: (): void => this.updateDepth(),
    }),
    leader: new client.Gauge({
      name: 'operator_leader',
      help: '1 while this instance holds the lease',
      registers: [],
    }),
  };

  constructor(private readonly options: ControllerOptions) {}

  private updateDepth(): void {
    this.metrics.depth.set(this.queue?.depth ?? 0);
  }

  /** Called by createApp with the app's metric registry. */
  registerMetrics(registry: client.Registry): void {
    for (const m of Object.values(this.metrics)) registry.registerMetric(m as client.Metric);
  }

  get active(): boolean {
    return this.queue !== undefined;
  }

  get informersView(): Informers | undefined {
    return this.informers;
  }

  start(): void {
    if (this.queue) return;
    const { logger } = this.options;
    const queue = new WorkQueue();
    this.queue = queue;
    this.metrics.leader.set(1);
    const informers = this.options.informers();
    this.informers = informers;
    informers.start({
      platform: (p) => queue.add(`${p.metadata.namespace}/${p.metadata.name}`),
      child: (o: KubeObject) => {
        const platform = o.metadata.labels?.[PLATFORM_LABEL];
        if (platform) queue.add(`${o.metadata.namespace}/${platform}`);
      },
      service: (d: KubeObject) => {
        for (const key of platformsExpecting(
          informers.platforms(),
          d.metadata.namespace,
          d.metadata.name,
        ))
          queue.add(key);
      },
    });
    this.resync = setInterval(() => {
      for (const p of informers.platforms())
        queue.add(`${p.metadata.namespace}/${p.metadata.name}`);
    }, this.options.resyncMs);
    this.resync.unref();
    this.running = queue.run(
      async (key) => {
        const [namespace, name] = key.split('/') as [string, string];
        const end = this.metrics.duration.startTimer();
        try {
          const result = await this.options.reconciler.reconcile(namespace, name);
          this.metrics.reconciles.inc({ result: result.ready === false ? 'not_ready' : 'ready' });
          if (result.requeueAfterMs) queue.addAfter(key, result.requeueAfterMs);
        } catch (err) {
          this.metrics.reconciles.inc({ result: 'error' });
          this.metrics.errors.inc();
          throw err;
        } finally {
          end();
        }
      },
      this.options.workers,
      (key, err, retryInMs) => logger.warn({ key, err, retryInMs }, 'reconcile failed; retrying'),
    );
    logger.info('controller started');
  }

  async stop(): Promise<void> {
    const queue = this.queue;
    if (!queue) return;
    this.queue = undefined;
    this.metrics.leader.set(0);
    if (this.resync) clearInterval(this.resync);
    queue.stop();
    await this.informers?.stop();
    this.informers = undefined;
    await this.running;
    this.options.logger.info('controller stopped');
  }
}
