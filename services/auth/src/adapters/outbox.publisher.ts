/**
 * Drains auth's transactional outbox (table `outbox`) to the `auth.events` topic exchange with
 * the shared relay of `@cinema/outbox` (publisher confirms, `message_id`, backoff while RabbitMQ
 * is away, replicas sharing rows by SKIP LOCKED). Secrets (single-use tokens and the links holding
 * them, SECRET_EVENT_FIELDS) leave the row in the transaction that records the broker's confirm;
 * a secret that expired while the broker was unreachable is scrubbed too (it opens nothing any
 * more; the event still goes out without it).
 */
import type { Logger } from '@cinema/logging';
import { OutboxRelay, PgOutboxStore } from '@cinema/outbox';
import type { Pool } from '@cinema/pg';
import { SECRET_EVENT_FIELDS } from '../domain/model';

export interface OutboxPublisherOptions {
  pool: Pool;
  amqpUrl: string;
  exchange: string;
  logger: Logger;
  pollMs: number;
  batchSize?: number;
  /** Published rows (already without secrets) older than this are deleted. */
  retentionHours?: number;
}

export class OutboxPublisher extends OutboxRelay {
  constructor(o: OutboxPublisherOptions) {
    super({
      ...o,
      appId: 'auth',
      store: new PgOutboxStore(o.pool, {
        table: 'outbox',
        retentionHours: o.retentionHours,
        secretFields: SECRET_EVENT_FIELDS,
        secretsExpireAt: `COALESCE(payload->>'expires_at', payload->>'verification_expires_at')::timestamptz`,
      }),
    });
  }
}
