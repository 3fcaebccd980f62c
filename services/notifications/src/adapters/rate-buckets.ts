/**
 * The channels' shared token buckets in PostgreSQL (`rate_buckets`): a take is one statement
 * that refills the bucket by the time elapsed on the database's clock (capped at one second's
 * worth) and grants whole tokens under the row lock, so concurrent replicas never over-grant.
 * Grants come in chunks of at least a tenth of a second's worth (one token at low rates), so a
 * fast channel asks about ten times a second rather than once a message.
 */
import type { Pool } from 'pg';
import type { Grant, RateLimiter } from '../domain/rate';

export class PgRateLimiter implements RateLimiter {
  constructor(
    private readonly pool: Pool,
    private readonly ratePerSecond: Record<'email' | 'sms', number>,
  ) {}

  async take(channel: 'email' | 'sms', want: number): Promise<Grant> {
    const rate = this.ratePerSecond[channel];
    if (rate <= 0) return { granted: want, waitMs: 0 };
    const min = Math.max(1, Math.min(want, Math.floor(rate / 10)));
    const res = await this.pool.query<{ granted: number; left: number }>(
      `WITH cur AS (
         SELECT least(greatest(1, $3::float8),
                      tokens + greatest(0, extract(epoch FROM clock_timestamp() - updated_at)) * $3::float8) AS t
         FROM rate_buckets WHERE channel = $1 FOR UPDATE
       ), g AS (SELECT t, CASE WHEN floor(t) >= $4 THEN least($2::int, floor(t))::int ELSE 0 END AS granted
                FROM cur)
       UPDATE rate_buckets b SET tokens = g.t - g.granted, updated_at = clock_timestamp()
       FROM g WHERE b.channel = $1
       RETURNING g.granted, g.t - g.granted AS left`,
      [channel, want, rate, min],
    );
    const row = res.rows[0];
    if (!row) throw new Error(`no rate bucket for ${channel} (migration 040 not applied?)`);
    const granted = Number(row.granted);
    const waitMs = granted > 0 ? 0 : Math.ceil(((min - Number(row.left)) / rate) * 1000);
    return { granted, waitMs };
  }

  async refund(channel: 'email' | 'sms', tokens: number): Promise<void> {
    const rate = this.ratePerSecond[channel];
    if (rate <= 0 || tokens <= 0) return;
    await this.pool.query(
      `UPDATE rate_buckets SET tokens = least(greatest(1, $3::float8), tokens + $2) WHERE channel = $1`,
      [channel, tokens, rate],
    );
  }
}
