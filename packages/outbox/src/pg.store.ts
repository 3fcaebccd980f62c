/**
 * The outbox as a PostgreSQL table (`id uuid, routing_key, payload jsonb, created_at,
 * published_at, attempts, last_error, traceparent text`), written by the service in the
 * transaction of its change (`traceparent`: `currentTraceparent()` of the writing request).
 * Rows are claimed with `SELECT ... FOR UPDATE SKIP LOCKED`, so replicas share the work.
 */
import type { Pool } from '@cinema/pg';
import type { OutboxMessage, OutboxStore } from './relay';

export interface PgOutboxStoreOptions {
  /** The table, schema-qualified where needed (`outbox`, `content.outbox`); a fixed name. */
  table: string;
  /** Published rows older than this are deleted (default 24). */
  retentionHours?: number;
  /**
   * Payload fields that must not outlive their use (single-use tokens): removed in the
   * transaction that records the broker's confirm, and from waiting rows once expired.
   */
  secretFields?: readonly string[];
  /** SQL over `payload` giving the instant the secrets expire (e.g. `(payload->>'expires_at')::timestamptz`). */
  secretsExpireAt?: string;
}

interface Row {
  id: string;
  routing_key: string;
  payload: unknown;
  created_at: Date;
  traceparent: string | null;
}

export class PgOutboxStore implements OutboxStore {
  private readonly table: string;

  constructor(
    private readonly pool: Pool,
    private readonly o: PgOutboxStoreOptions,
  ) {
    if (!/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/.test(o.table)) {
      throw new Error(`bad outbox table name ${o.table}`);
    }
    this.table = o.table;
  }

  async hasPending(): Promise<boolean> {
    const res = await this.pool.query(
      `SELECT 1 FROM ${this.table} WHERE published_at IS NULL LIMIT 1`,
    );
    return Boolean(res.rowCount);
  }

  async backlog(): Promise<number> {
    const res = await this.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${this.table} WHERE published_at IS NULL`,
    );
    return Number(res.rows[0]!.n);
  }

  async relay(limit: number, send: (messages: OutboxMessage[]) => Promise<void>): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<Row>(
        `SELECT id, routing_key, payload, created_at, traceparent FROM ${this.table}
         WHERE published_at IS NULL ORDER BY created_at, id
         LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      if (!rows.length) {
        await client.query('COMMIT');
        return 0;
      }
      const ids = rows.map((r) => r.id);
      try {
        await send(
          rows.map((r) => ({
            id: r.id,
            routingKey: r.routing_key,
            payload: r.payload,
            createdAt: r.created_at,
            traceparent: r.traceparent,
          })),
        );
      } catch (err) {
        await client.query(
          `UPDATE ${this.table} SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::uuid[])`,
          [ids, String((err as Error)?.message ?? err).slice(0, 500)],
        );
        await client.query('COMMIT');
        throw err;
      }
      // Confirmed: the secrets are not needed any more.
      await client.query(
        `UPDATE ${this.table}
            SET published_at = now(), attempts = attempts + 1, payload = payload - $2::text[]
          WHERE id = ANY($1::uuid[])`,
        [ids, [...(this.o.secretFields ?? [])]],
      );
      await client.query('COMMIT');
      return rows.length;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Scrubs the secrets of waiting events once expired; deletes published rows past retention. */
  async cleanup(): Promise<void> {
    if (this.o.secretFields?.length && this.o.secretsExpireAt) {
      await this.pool.query(
        `UPDATE ${this.table} SET payload = payload - $1::text[]
          WHERE published_at IS NULL AND payload ?| $1::text[] AND ${this.o.secretsExpireAt} < now()`,
        [[...this.o.secretFields]],
      );
    }
    await this.pool.query(
      `DELETE FROM ${this.table} WHERE published_at < now() - $1 * interval '1 hour'`,
      [this.o.retentionHours ?? 24],
    );
  }
}
