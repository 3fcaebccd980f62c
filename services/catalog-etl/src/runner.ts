/**
 * Runs the ETL continuously (a pass, then a pause of the poll interval) or once (CronJob mode:
 * passes until nothing is left). A failing pass (PostgreSQL or Elasticsearch down) is retried
 * with exponential backoff (p-retry); state is durable, so a retry resumes where it stopped.
 */
import pRetry from 'p-retry';
import * as client from 'prom-client';
import type { Logger } from '@cinema/logging';
import { Etl, StoppedError, type EtlObserver, type PassResult } from './domain/etl';

export interface RunnerOptions {
  pollIntervalMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** Attempts per pass before giving up; Infinity in continuous mode. */
  retries: number;
}

export class EtlMetrics implements EtlObserver {
  readonly indexedTotal: client.Counter<'index'>;
  readonly deletedTotal: client.Counter<'index'>;
  readonly failures: client.Counter;
  readonly passDuration: client.Histogram;
  /** When the ETL last finished a pass with nothing left to do. */
  lastCaughtUp = Date.now();

  constructor(registry: client.Registry) {
    this.indexedTotal = new client.Counter({
      name: 'catalog_etl_documents_indexed_total',
      help: 'Documents written to Elasticsearch, by index',
      labelNames: ['index'],
      registers: [registry],
    });
    this.deletedTotal = new client.Counter({
      name: 'catalog_etl_documents_deleted_total',
      help: 'Documents deleted from Elasticsearch, by index',
      labelNames: ['index'],
      registers: [registry],
    });
    this.failures = new client.Counter({
      name: 'catalog_etl_pass_failures_total',
      help: 'Passes that failed (and were retried with backoff)',
      registers: [registry],
    });
    this.passDuration = new client.Histogram({
      name: 'catalog_etl_pass_duration_seconds',
      help: 'Duration of successful passes',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120],
      registers: [registry],
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new client.Gauge({
      name: 'catalog_etl_lag_seconds',
      help: 'Seconds since the ETL was last caught up with PostgreSQL (bounded by the poll interval when healthy)',
      registers: [registry],
      collect() {
        this.set((Date.now() - self.lastCaughtUp) / 1000);
      },
    });
  }

  indexed(index: string, count: number): void {
    this.indexedTotal.inc({ index }, count);
  }

  deleted(index: string, count: number): void {
    this.deletedTotal.inc({ index }, count);
  }
}

export class Runner {
  private wake?: () => void;
  private running?: Promise<void>;

  constructor(
    private readonly etl: Etl,
    private readonly options: RunnerOptions,
    private readonly logger: Logger,
    private readonly metrics?: EtlMetrics,
  ) {}

  /** One pass, retried with exponential backoff while it fails. */
  async pass(): Promise<PassResult> {
    return this.retrying(async () => {
      const started = process.hrtime.bigint();
      const result = await this.etl.pass();
      this.metrics?.passDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
      return result;
    });
  }

  /** Runs `work`, retrying with exponential backoff while it fails. */
  async retrying<T>(work: () => Promise<T>): Promise<T> {
    // p-retry only retries instances of Error; errors from another realm (a vm context) are not.
    const normalized = async () => {
      try {
        return await work();
      } catch (err) {
        if (err instanceof Error) throw err;
        const message = (err as { message?: unknown })?.message;
        throw Object.assign(new Error(typeof message === 'string' ? message : String(err)), {
          cause: err,
        });
      }
    };
    return pRetry(normalized, {
      // The `retry` package needs `forever` for unbounded retries (it precomputes timeouts).
      forever: !Number.isFinite(this.options.retries),
      retries: Number.isFinite(this.options.retries) ? this.options.retries : 20,
      factor: 2,
      minTimeout: this.options.retryMinMs,
      maxTimeout: this.options.retryMaxMs,
      randomize: true,
      onFailedAttempt: (error) => {
        if (error instanceof StoppedError || this.etl.stopped) throw error;
        this.metrics?.failures.inc();
        this.logger.warn(
          { err: error, attempt: error.attemptNumber, retriesLeft: error.retriesLeft },
          'ETL step failed; retrying with backoff',
        );
      },
    });
  }

  /** CronJob mode: passes until one writes nothing (or stops at the first that cannot finish). */
  async once(): Promise<PassResult> {
    const total: PassResult = {
      indexed: { films: 0, genres: 0, persons: 0 },
      deleted: { films: 0, genres: 0, persons: 0 },
    };
    for (;;) {
      const result = await this.pass();
      for (const k of ['films', 'genres', 'persons'] as const) {
        total.indexed[k] += result.indexed[k];
        total.deleted[k] += result.deleted[k];
      }
      if (this.metrics) this.metrics.lastCaughtUp = Date.now();
      if (Object.values(result.indexed).every((n) => n === 0)) return total;
    }
  }

  /** Continuous mode, until stop(). */
  start(): void {
    this.running = (async () => {
      while (!this.etl.stopped) {
        try {
          const result = await this.pass();
          if (this.metrics) this.metrics.lastCaughtUp = Date.now();
          const n = Object.values(result.indexed).reduce((a, b) => a + b, 0);
          const d = Object.values(result.deleted).reduce((a, b) => a + b, 0);
          if (n || d) this.logger.info(result, `indexed ${n}, deleted ${d}`);
        } catch (err) {
          if (err instanceof StoppedError || this.etl.stopped) break;
          this.logger.error({ err }, 'ETL pass gave up');
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.pollIntervalMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    })();
  }

  /** Stops after the current batch; resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.etl.stop();
    this.wake?.();
    await this.running;
  }
}
