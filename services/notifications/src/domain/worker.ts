/**
 * The delivery worker: per channel (e-mail, SMS), takes due deliveries from the queue, the
 * transactional ones first (priority), as many as the channel's rate limiter grants (shared by
 * all replicas), sends up to `concurrency` of them at once, and records each outcome: sent;
 * back in the queue with backoff; or failed with the reason after the last attempt (or at once
 * when the channel refuses for good). Several replicas share the queue (claims skip locked rows).
 *
 * Delivery is at least once: a stop (SIGTERM) lets the in-flight sends finish and record, so
 * nothing is sent twice; a crashed process's lease expires and its in-flight deliveries are sent
 * again, with the same Message-ID (`<delivery-<id>@...>`), which mail clients use to drop the copy.
 */
import type { RateLimiter } from './rate';
import {
  PermanentSendError,
  isTransactional,
  type Channel,
  type Clock,
  type DeliveriesRepository,
  type Delivery,
  type Mailer,
  type SmsProvider,
  type TemplateRenderer,
  type UnsubscribeTokens,
} from './model';

export interface WorkerOptions {
  deliveries: DeliveriesRepository;
  templates: TemplateRenderer;
  mailer?: Mailer;
  sms?: SmsProvider;
  unsubscribe: UnsubscribeTokens;
  /** `${base}/api/v1/notifications/unsubscribe?token=` is the one-click link. */
  publicUrl: string;
  clock: Clock;
  limiter: RateLimiter;
  /** Sends in flight at once per channel (default e-mail 8, SMS 4). */
  concurrency?: Partial<Record<'email' | 'sms', number>>;
  maxAttempts: number;
  pollMs: number;
  batchSize?: number;
  leaseMs?: number;
  log: {
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
}

export interface WorkerStats {
  sent: number;
  retried: number;
  failed: number;
}

const backoffMs = (attempt: number) => Math.min(600_000, 5_000 * 2 ** Math.max(0, attempt - 1));

export class DeliveryWorker {
  readonly stats: Record<'email' | 'sms', WorkerStats> = {
    email: { sent: 0, retried: 0, failed: 0 },
    sms: { sent: 0, retried: 0, failed: 0 },
  };
  private readonly wakers = new Map<Channel, () => void>();
  private running = false;
  private loops: Promise<void>[] = [];

  /** Per channel: ms until the limiter has tokens again (0 when it was not the limit). */
  private readonly limitedFor: Record<'email' | 'sms', number> = { email: 0, sms: 0 };
  private readonly concurrency: Record<'email' | 'sms', number>;

  constructor(private readonly o: WorkerOptions) {
    this.concurrency = {
      email: Math.max(1, o.concurrency?.email ?? 8),
      sms: Math.max(1, o.concurrency?.sms ?? 4),
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = (['email', 'sms'] as const).map((channel) => this.loop(channel));
  }

  /** Lets the in-flight message finish, then stops. */
  async stop(): Promise<void> {
    this.running = false;
    for (const wake of this.wakers.values()) wake();
    await Promise.allSettled(this.loops);
  }

  wake = (channel: Channel): void => {
    this.wakers.get(channel)?.();
  };

  /** Sends what is due now on one channel (tests, and the loop). Answers how many it took. */
  async runOnce(channel: 'email' | 'sms'): Promise<number> {
    const now = this.o.clock();
    await this.o.deliveries.releaseExpired(now);
    // No more than can go at once: a delivery claimed is a send started, so a campaign paused
    // or cancelled meanwhile loses only the sends already on the wire (they follow it back).
    const want = Math.min(this.o.batchSize ?? 20, this.concurrency[channel]);
    const grant = await this.o.limiter.take(channel, want);
    this.limitedFor[channel] = grant.waitMs;
    if (grant.granted <= 0) return 0;
    const batch = await this.o.deliveries.claim(
      channel,
      now,
      grant.granted,
      this.o.leaseMs ?? 120_000,
    );
    if (batch.length < grant.granted) {
      await this.o.limiter.refund(channel, grant.granted - batch.length);
    }
    // Claimed in priority order: the first to start are the most urgent.
    let next = 0;
    const lane = async () => {
      while (next < batch.length) await this.deliver(channel, batch[next++]!);
    };
    // Every lane ends before the next round (a failed one must not leave others sending past the
    // concurrency); a lane's failure (the database) is reported after.
    const lanes = await Promise.allSettled(
      Array.from({ length: Math.min(this.concurrency[channel], batch.length) }, lane),
    );
    const failed = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
    if (failed) throw failed.reason;
    return batch.length;
  }

  private async loop(channel: 'email' | 'sms'): Promise<void> {
    while (this.running) {
      let took = 0;
      try {
        took = await this.runOnce(channel);
      } catch (err) {
        this.o.log.warn({ err, channel }, 'delivery worker: a round failed');
      }
      if (!this.running) break;
      if (took > 0) continue;
      // Out of tokens: back when the limiter has some; else idle until woken or the poll.
      const waitMs = this.limitedFor[channel] > 0 ? this.limitedFor[channel] : this.o.pollMs;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(waitMs, this.o.pollMs));
        timer.unref();
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wakers.set(channel, done);
      });
      this.wakers.delete(channel);
    }
  }

  private async deliver(channel: 'email' | 'sms', d: Delivery): Promise<void> {
    try {
      if (channel === 'email') await this.sendMail(d);
      else await this.sendSms(d);
      await this.o.deliveries.markSent(d.id, this.o.clock());
      this.stats[channel].sent++;
    } catch (err) {
      const reason = String((err as Error)?.message ?? err).slice(0, 1000);
      const permanent =
        err instanceof PermanentSendError || (err as { status?: number }).status === 422;
      if (permanent || d.attempts >= this.o.maxAttempts) {
        await this.o.deliveries.markFailed(d.id, reason);
        this.stats[channel].failed++;
        this.o.log.error(
          { err, deliveryId: d.id, channel, attempts: d.attempts },
          'delivery failed',
        );
      } else {
        await this.o.deliveries.markRetry(
          d.id,
          reason,
          new Date(this.o.clock().getTime() + backoffMs(d.attempts)),
        );
        this.stats[channel].retried++;
        this.o.log.warn(
          { err, deliveryId: d.id, channel, attempts: d.attempts },
          'delivery will be retried',
        );
      }
    }
  }

  private async sendMail(d: Delivery): Promise<void> {
    if (!this.o.mailer) throw new PermanentSendError('no SMTP server configured (SMTP_URL)');
    const unsubscribeUrl = isTransactional(d.category)
      ? undefined
      : `${this.o.publicUrl.replace(/\/+$/, '')}/api/v1/notifications/unsubscribe?token=${encodeURIComponent(
          this.o.unsubscribe.sign({ userId: d.recipient, category: d.category }),
        )}`;
    const rendered = await this.o.templates.email(d.template, d.locale, {
      ...d.vars,
      unsubscribe_url: unsubscribeUrl ?? null,
    });
    await this.o.mailer.send({ ...rendered, to: d.address!, unsubscribeUrl, deliveryId: d.id });
  }

  private async sendSms(d: Delivery): Promise<void> {
    if (!this.o.sms) throw new PermanentSendError('no SMS provider configured (SMS_GATEWAY_URL)');
    const text = this.o.templates.sms(d.template, d.locale, d.vars);
    await this.o.sms.send({ to: d.address!, text, category: d.category, deliveryId: d.id });
  }
}
