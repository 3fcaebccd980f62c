/** Deliveries (the idempotency record and the send queue) and the inbox writes, in PostgreSQL. */
import type { Pool, PoolClient } from '@cinema/pg';
import {
  SECRET_VARS,
  type Category,
  type Channel,
  type DeliveriesRepository,
  type DeliveryStatus,
  type Delivery,
  type Locale,
  type NewInboxItem,
  type PlanResult,
  type PlannedDelivery,
} from '../domain/model';
import { inTransaction } from './db';
import { PgInboxRepository } from './inbox.repository';

interface Row {
  id: string;
  message_id: string;
  channel: Channel;
  recipient: string;
  category: Category;
  template: string;
  locale: Locale;
  vars: Record<string, unknown>;
  priority: number;
  status: DeliveryStatus;
  reason: string | null;
  not_before: Date;
  address: string | null;
  campaign_id: string | null;
  attempts: number;
}

const toDelivery = (r: Row): Delivery => ({
  id: r.id,
  messageId: r.message_id,
  channel: r.channel,
  recipient: r.recipient,
  category: r.category,
  template: r.template,
  locale: r.locale,
  vars: r.vars,
  priority: r.priority,
  status: r.status,
  reason: r.reason ?? undefined,
  notBefore: r.not_before,
  address: r.address,
  campaignId: r.campaign_id ?? undefined,
  attempts: r.attempts,
});

const SECRETS = [...SECRET_VARS];

export class PgDeliveriesRepository implements DeliveriesRepository {
  constructor(private readonly pool: Pool) {}

  async plan(deliveries: PlannedDelivery[], inbox: NewInboxItem[]): Promise<PlanResult> {
    if (!deliveries.length && !inbox.length) return { inserted: 0, duplicates: 0 };
    return inTransaction(this.pool, async (tx) => {
      let inserted = 0;
      for (const d of deliveries) {
        const res = await tx.query(
          `INSERT INTO deliveries (message_id, channel, recipient, category, template, locale, vars,
             priority, status, reason, not_before, address, campaign_id, sent_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
             CASE WHEN $9 = 'sent' THEN now() END)
           ON CONFLICT (message_id, channel, recipient) DO NOTHING`,
          [
            d.messageId,
            d.channel,
            d.recipient,
            d.category,
            d.template,
            d.locale,
            d.vars,
            d.priority,
            d.status,
            d.reason ?? null,
            d.notBefore,
            d.address,
            d.campaignId ?? null,
          ],
        );
        inserted += res.rowCount ?? 0;
      }
      const items = new PgInboxRepository(tx);
      for (const item of inbox) await items.add(item);
      return { inserted, duplicates: deliveries.length - inserted };
    });
  }

  async claim(channel: Channel, now: Date, limit: number, leaseMs: number): Promise<Delivery[]> {
    const res = await this.pool.query<Row>(
      `UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1,
         locked_until = $2::timestamptz + $4 * interval '1 millisecond'
       FROM (SELECT id FROM deliveries
             WHERE channel = $1 AND status = 'queued' AND not_before <= $2
             ORDER BY priority, not_before, id LIMIT $3 FOR UPDATE SKIP LOCKED) due
       WHERE d.id = due.id
       RETURNING d.id::text, d.message_id, d.channel, d.recipient, d.category, d.template, d.locale,
         d.vars, d.priority, d.status, d.reason, d.not_before, d.address, d.campaign_id::text, d.attempts`,
      [channel, now, limit, leaseMs],
    );
    return res.rows
      .map(toDelivery)
      .sort((a, b) => a.priority - b.priority || Number(a.id) - Number(b.id));
  }

  async markSent(id: string, now: Date): Promise<void> {
    await this.pool.query(
      `UPDATE deliveries SET status = 'sent', sent_at = $2, reason = NULL, locked_until = NULL,
         vars = vars - $3::text[]
       WHERE id = $1`,
      [id, now, SECRETS],
    );
  }

  async markRetry(id: string, reason: string, notBefore: Date): Promise<void> {
    await inTransaction(this.pool, async (tx) => {
      await lockCampaignsOf(tx, [id]);
      await tx.query(
        `UPDATE deliveries SET status = 'queued', reason = $2, not_before = $3, locked_until = NULL WHERE id = $1`,
        [id, reason, notBefore],
      );
      await followCampaigns(tx, [id]);
    });
  }

  async markFailed(id: string, reason: string): Promise<void> {
    await this.pool.query(
      `UPDATE deliveries SET status = 'failed', reason = $2, locked_until = NULL, vars = vars - $3::text[]
       WHERE id = $1`,
      [id, reason, SECRETS],
    );
  }

  async releaseExpired(now: Date): Promise<number> {
    return inTransaction(this.pool, async (tx) => {
      const expired = await tx.query<{ id: string }>(
        `SELECT id::text FROM deliveries WHERE status = 'sending' AND locked_until < $1
         FOR UPDATE SKIP LOCKED`,
        [now],
      );
      if (!expired.rows.length) return 0;
      const ids = expired.rows.map((r) => r.id);
      await lockCampaignsOf(tx, ids);
      await tx.query(
        `UPDATE deliveries SET status = 'queued', locked_until = NULL WHERE id = ANY($1::bigint[])`,
        [ids],
      );
      await followCampaigns(tx, ids);
      return ids.length;
    });
  }

  /** Deliveries of one message (tests, the panel). */
  async ofMessage(messageId: string): Promise<Delivery[]> {
    const res = await this.pool.query<Row>(
      `SELECT id::text, message_id, channel, recipient, category, template, locale, vars, priority,
         status, reason, not_before, address, campaign_id::text, attempts
       FROM deliveries WHERE message_id = $1 OR message_id LIKE $1 || ':%' ORDER BY id`,
      [messageId],
    );
    return res.rows.map(toDelivery);
  }
}

/**
 * A campaign delivery that goes back to the queue after its campaign was paused or cancelled
 * while it was being sent (a retry, an expired lease) follows the campaign: held like its queued
 * siblings (paused) or skipped (cancelled). The campaigns' rows are locked first (FOR SHARE,
 * against a pause's FOR UPDATE), so a pause either sees these rows queued or is seen here.
 */
async function lockCampaignsOf(tx: PoolClient, deliveryIds: string[]): Promise<void> {
  await tx.query(
    `SELECT 1 FROM campaigns WHERE id IN
       (SELECT campaign_id FROM deliveries WHERE id = ANY($1::bigint[]) AND campaign_id IS NOT NULL)
     ORDER BY id FOR SHARE`,
    [deliveryIds],
  );
}

async function followCampaigns(tx: PoolClient, deliveryIds: string[]): Promise<void> {
  await tx.query(
    `UPDATE deliveries d SET status = 'skipped', reason = 'campaign cancelled'
     FROM campaigns c
     WHERE d.id = ANY($1::bigint[]) AND c.id = d.campaign_id AND c.state = 'cancelled' AND d.status = 'queued'`,
    [deliveryIds],
  );
  await tx.query(
    `INSERT INTO campaign_held (delivery_id, campaign_id, not_before)
     SELECT d.id, d.campaign_id, d.not_before FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id
     WHERE d.id = ANY($1::bigint[]) AND c.state = 'paused' AND d.status = 'queued'
     ON CONFLICT (delivery_id) DO NOTHING`,
    [deliveryIds],
  );
  await tx.query(
    `UPDATE deliveries d SET not_before = 'infinity'
     FROM campaigns c
     WHERE d.id = ANY($1::bigint[]) AND c.id = d.campaign_id AND c.state = 'paused' AND d.status = 'queued'`,
    [deliveryIds],
  );
}
