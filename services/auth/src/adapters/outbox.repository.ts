import { currentTraceparent } from '@cinema/outbox';
import type { EventKey, OutboxRepository as Port } from '../domain/model';
import type { Queryable } from './db';

export class OutboxRepository implements Port {
  constructor(private readonly db: Queryable) {}

  /**
   * The payload's `message_id` is the row's id and the AMQP message id; the row keeps the
   * writing request's traceparent, so the event is published and consumed in its trace.
   */
  async add(routingKey: EventKey, payload: Record<string, unknown>): Promise<string> {
    const res = await this.db.query<{ id: string }>(
      `INSERT INTO outbox (id, routing_key, payload, traceparent)
       VALUES (COALESCE($1::uuid, gen_random_uuid()), $2, $3, $4)
       RETURNING id`,
      [payload.message_id ?? null, routingKey, JSON.stringify(payload), currentTraceparent()],
    );
    return res.rows[0]!.id;
  }
}
