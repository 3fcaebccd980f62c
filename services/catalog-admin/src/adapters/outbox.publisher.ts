/**
 * Relays the transactional outbox (`content.outbox`) to RabbitMQ, as auth's publisher does:
 * rows are claimed with `SELECT ... FOR UPDATE SKIP LOCKED` (replicas share the work), published
 * persistent on a confirm channel to the `catalog.events` topic exchange with `message_id` = the
 * row's id, and marked published only after the broker confirmed them. While RabbitMQ is
 * unreachable the rows wait and the publisher retries with backoff; nothing is lost. Delivery is
 * at least once: consumers dedupe on `message_id`. Published rows older than the retention go.
 */
import * as amqp from 'amqplib';
import type { Logger } from '@cinema/logging';
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

interface OutboxRow {
  id: string;
  routing_key: string;
  payload: unknown;
  created_at: Date;
}

export class OutboxPublisher {
  private conn?: amqp.ChannelModel;
  private channel?: amqp.ConfirmChannel;
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private pending = false;
  private failures = 0;
  private lastCleanup = 0;
  /** Messages confirmed by the broker since start. */
  published = 0;
  connected = false;

  constructor(private readonly o: OutboxPublisherOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Asks for a drain now (after a commit that added events). */
  notify = (): void => {
    this.pending = true;
    this.wake?.();
  };

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.disconnect();
  }

  /** Rows not yet published (readiness detail, tests). */
  async backlog(): Promise<number> {
    const res = await this.o.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM content.outbox WHERE published_at IS NULL`,
    );
    return Number(res.rows[0]!.n);
  }

  private async run(): Promise<void> {
    while (this.running) {
      let more = false;
      try {
        more = await this.drainOnce();
        this.failures = 0;
      } catch (err) {
        this.failures++;
        this.o.logger.warn(
          { err, failures: this.failures },
          'outbox: publishing failed; events stay in the outbox and will be retried',
        );
        await this.disconnect();
      }
      if (Date.now() - this.lastCleanup >= 60_000) {
        this.lastCleanup = Date.now();
        await this.o.pool
          .query(`DELETE FROM content.outbox WHERE published_at < now() - $1 * interval '1 hour'`, [
            this.o.retentionHours ?? 24,
          ])
          .catch((err: unknown) => this.o.logger.warn({ err }, 'outbox: cleanup failed'));
      }
      if (!this.running) break;
      if (more && this.failures === 0) continue;
      const wait =
        this.failures > 0 ? Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7)) : this.o.pollMs;
      await this.sleep(wait, this.failures === 0);
    }
  }

  private sleep(ms: number, wakeable: boolean): Promise<void> {
    if (wakeable && this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        if (wakeable || !this.running) {
          this.pending = false;
          this.wake = undefined;
          done();
        }
      };
    });
  }

  private async ensureChannel(): Promise<amqp.ConfirmChannel> {
    if (this.channel) return this.channel;
    const conn = await amqp.connect(this.o.amqpUrl, { timeout: 5000 });
    conn.on('error', (err) => this.o.logger.warn({ err }, 'outbox: RabbitMQ connection error'));
    conn.on('close', () => {
      this.connected = false;
      this.channel = undefined;
      this.conn = undefined;
    });
    const channel = await conn.createConfirmChannel();
    channel.on('error', (err) => this.o.logger.warn({ err }, 'outbox: channel error'));
    channel.on('close', () => {
      this.channel = undefined;
    });
    await channel.assertExchange(this.o.exchange, 'topic', { durable: true });
    this.conn = conn;
    this.channel = channel;
    this.connected = true;
    this.o.logger.info({ exchange: this.o.exchange }, 'outbox: connected to RabbitMQ');
    return channel;
  }

  private async disconnect(): Promise<void> {
    const conn = this.conn;
    this.channel = undefined;
    this.conn = undefined;
    this.connected = false;
    await conn?.close().catch(() => undefined);
  }

  /** Publishes one batch; answers whether more rows may be waiting. */
  async drainOnce(): Promise<boolean> {
    const batchSize = this.o.batchSize ?? 100;
    const peek = await this.o.pool.query(
      `SELECT 1 FROM content.outbox WHERE published_at IS NULL LIMIT 1`,
    );
    if (!peek.rowCount) return false;
    const channel = await this.ensureChannel();
    const client = await this.o.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<OutboxRow>(
        `SELECT id, routing_key, payload, created_at FROM content.outbox
          WHERE published_at IS NULL ORDER BY created_at, id
          LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [batchSize],
      );
      if (!rows.length) {
        await client.query('COMMIT');
        return false;
      }
      try {
        for (const row of rows) {
          const ok = channel.publish(
            this.o.exchange,
            row.routing_key,
            Buffer.from(JSON.stringify(row.payload)),
            {
              persistent: true,
              contentType: 'application/json',
              messageId: row.id,
              type: row.routing_key,
              timestamp: Math.floor(row.created_at.getTime() / 1000),
              appId: this.o.appId,
            },
          );
          if (!ok) await new Promise((r) => channel.once('drain', r));
        }
        await channel.waitForConfirms();
      } catch (err) {
        await client.query(
          `UPDATE content.outbox SET attempts = attempts + 1, last_error = $2
            WHERE id = ANY($1::uuid[])`,
          [rows.map((r) => r.id), String((err as Error)?.message ?? err).slice(0, 500)],
        );
        await client.query('COMMIT');
        throw err;
      }
      await client.query(
        `UPDATE content.outbox SET published_at = now(), attempts = attempts + 1
          WHERE id = ANY($1::uuid[])`,
        [rows.map((r) => r.id)],
      );
      await client.query('COMMIT');
      this.published += rows.length;
      this.o.logger.debug({ count: rows.length }, 'outbox: published');
      return rows.length === batchSize;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}
