/**
 * A token bucket per channel: `ratePerSecond` messages a second on average, bursts up to one
 * second's worth. 0 = unlimited. The clock is passed in (tests).
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
}
