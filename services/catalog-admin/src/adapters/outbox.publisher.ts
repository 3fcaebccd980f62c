/**
 * Relays catalog-admin's transactional outbox (`content.outbox`, written in the transaction of
 * the film change) to the `catalog.events` topic exchange with the shared relay of
 * `@cinema/outbox`: publisher confirms, `message_id` = the row's id, backoff while RabbitMQ is
 * away, replicas sharing rows by SKIP LOCKED; published rows older than the retention go.
 */
import type { Logger } from '@cinema/logging';
import { OutboxRelay, PgOutboxStore } from '@cinema/outbox';
import type { Pool } from '@cinema/pg';

export interface OutboxPublisherOptions {
  pool: Pool;
  amqpUrl: string;
  exchange: string;
  logger: Logger;
  pollMs: number;
  batchSize?: number;
  /** Published rows older than this are deleted. */
  retentionHours?: number;
  /** The AMQP `app_id` of the messages. */
  appId: string;
}

export class OutboxPublisher extends OutboxRelay {
  constructor(o: OutboxPublisherOptions) {
    super({
      ...o,
      store: new PgOutboxStore(o.pool, {
        table: 'content.outbox',
        retentionHours: o.retentionHours,
      }),
    });
  }
}
