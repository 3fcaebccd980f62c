/**
 * Per-channel send rates. The worker asks a `RateLimiter` for tokens before it claims
 * deliveries; the deployment's limiter is shared by every replica (`PgRateLimiter`), and
 * `TokenBucket` is the same arithmetic in memory (one process; tests).
 */
export interface Grant {
  /** Messages that may go now (at most what was asked). */
  granted: number;
  /** When nothing was granted: ms until the next token. */
  waitMs: number;
}

export interface RateLimiter {
  take(channel: 'email' | 'sms', want: number): Promise<Grant>;
  /** Gives back tokens taken but not used (fewer deliveries were due than granted). */
  refund(channel: 'email' | 'sms', tokens: number): Promise<void>;
}

/**
 * A token bucket: `ratePerSecond` messages a second on average, bursts up to one second's
 * worth. 0 = unlimited. The clock is passed in (tests).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = Math.max(1, ratePerSecond);
    this.last = now();
  }

  get unlimited(): boolean {
    return this.ratePerSecond <= 0;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(
      Math.max(1, this.ratePerSecond),
      this.tokens + ((t - this.last) / 1000) * this.ratePerSecond,
    );
    this.last = t;
  }

  /** Whole messages that may go now. */
  available(): number {
    if (this.unlimited) return Number.POSITIVE_INFINITY;
    this.refill();
    return Math.floor(this.tokens);
  }

  /** Takes one token; answers the ms to wait first (0 when one was there). */
  take(): number {
    if (this.unlimited) return 0;
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.ratePerSecond) * 1000);
  }

  /** Takes up to `want` whole tokens at once. */
  grant(want: number): Grant {
    if (this.unlimited) return { granted: want, waitMs: 0 };
    this.refill();
    const granted = Math.min(want, Math.floor(this.tokens));
    this.tokens -= granted;
    return {
      granted,
      waitMs: granted > 0 ? 0 : Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000),
    };
  }

  giveBack(tokens: number): void {
    if (this.unlimited) return;
    this.tokens = Math.min(Math.max(1, this.ratePerSecond), this.tokens + tokens);
  }
}

/** One process's limiter (tests and tools; a deployment uses the shared one). */
export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets: Record<'email' | 'sms', TokenBucket>;

  constructor(ratePerSecond: Record<'email' | 'sms', number>, now: () => number = Date.now) {
    this.buckets = {
      email: new TokenBucket(ratePerSecond.email, now),
      sms: new TokenBucket(ratePerSecond.sms, now),
    };
  }

  async take(channel: 'email' | 'sms', want: number): Promise<Grant> {
    return this.buckets[channel].grant(want);
  }

  async refund(channel: 'email' | 'sms', tokens: number): Promise<void> {
    this.buckets[channel].giveBack(tokens);
  }
}
