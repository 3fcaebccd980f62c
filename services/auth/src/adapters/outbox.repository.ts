import type { EventKey, OutboxRepository as Port } from '../domain/model';
import type { Queryable } from './db';

export class OutboxRepository implements Port {
  constructor(private readonly db: Queryable) {}

  /** The payload's `message_id` is the row's id and the AMQP message id. */
  async add(routingKey: EventKey, payload: Record<string, unknown>): Promise<string> {
    const res = await this.db.query<{ id: string }>(
      `INSERT INTO outbox (id, routing_key, payload) VALUES (COALESCE($1::uuid, gen_random_uuid()), $2, $3)
       RETURNING id`,
      [payload.message_id ?? null, routingKey, JSON.stringify(payload)],
    );
    return res.rows[0]!.id;
  }
}
