/** The ETL's Prometheus metrics: what the use case and its runner report, on one registry. */
import * as client from 'prom-client';
import type { EtlObserver, IndexName } from '../domain/etl';
import type { RunnerObserver } from '../domain/runner';

export class EtlMetrics implements EtlObserver, RunnerObserver {
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

  indexed(index: IndexName, count: number): void {
    this.indexedTotal.inc({ index }, count);
  }

  deleted(index: IndexName, count: number): void {
    this.deletedTotal.inc({ index }, count);
  }

  passed(seconds: number): void {
    this.passDuration.observe(seconds);
  }

  failed(): void {
    this.failures.inc();
  }

  caughtUp(): void {
    this.lastCaughtUp = Date.now();
  }
}
