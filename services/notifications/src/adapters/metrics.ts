/**
 * Prometheus metrics of the background work, read from the adapters' own counters when scraped
 * (createApp registers every dependency that has `registerMetrics`).
 */
import client from 'prom-client';
import type { Pool } from '@cinema/pg';
import type { DeliveryWorker } from '../domain/worker';
import type { QueueConsumer } from './amqp';
import type { SseStreams } from './sse.streams';

export class NotificationMetrics {
  constructor(
    private readonly o: {
      pool: Pool;
      worker: DeliveryWorker;
      consumers: Record<string, QueueConsumer>;
      streams: SseStreams;
    },
  ) {}

  registerMetrics(registry: client.Registry): void {
    const { pool, worker, consumers, streams } = this.o;
    new client.Counter({
      name: 'notifications_consumer_messages_total',
      help: 'Messages taken off the consumer queues, by outcome (handled, retried, dead_lettered)',
      labelNames: ['queue', 'outcome'],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of Object.values(consumers)) {
          this.inc({ queue: c.names.work, outcome: 'handled' }, c.stats.handled);
          this.inc({ queue: c.names.work, outcome: 'retried' }, c.stats.retried);
          this.inc({ queue: c.names.work, outcome: 'dead_lettered' }, c.stats.deadLettered);
        }
      },
    });
    new client.Counter({
      name: 'notifications_deliveries_total',
      help: 'E-mail and SMS send attempts of this process, by channel and outcome (sent, retried, failed)',
      labelNames: ['channel', 'outcome'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [channel, s] of Object.entries(worker.stats)) {
          this.inc({ channel, outcome: 'sent' }, s.sent);
          this.inc({ channel, outcome: 'retried' }, s.retried);
          this.inc({ channel, outcome: 'failed' }, s.failed);
        }
      },
    });
    new client.Gauge({
      name: 'notifications_deliveries_queued',
      help: 'Deliveries waiting in the queue (all replicas), by channel, due now or later',
      labelNames: ['channel'],
      registers: [registry],
      async collect() {
        this.reset();
        const res = await pool.query<{ channel: string; n: number }>(
          `SELECT channel, count(*)::int AS n FROM deliveries WHERE status = 'queued' GROUP BY channel`,
        );
        for (const r of res.rows) this.set({ channel: r.channel }, r.n);
      },
    });
    new client.Gauge({
      name: 'notifications_sse_streams',
      help: 'Open Server-Sent Events streams of this process',
      registers: [registry],
      collect() {
        this.set(streams.size);
      },
    });
  }
}
