/**
 * A keyed work queue (client-go's workqueue semantics): a key is queued at most once, a key being
 * processed is never processed by a second worker at the same time (added again meanwhile, it is
 * processed once more after), failures are retried after an exponential backoff with jitter, and
 * `addAfter` schedules a key (periodic resync, requeue after a while).
 */

export interface QueueOptions {
  /** First retry delay; doubled per consecutive failure of the key. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** 0..1: the delay is multiplied by a random factor in [1 - jitter, 1]. */
  jitter?: number;
  random?: () => number;
}

export type Handler = (key: string) => Promise<void>;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly waiters: Array<() => void> = [];
  private stopped = false;
  private readonly base: number;
  private readonly max: number;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(options: QueueOptions = {}) {
    this.base = options.baseDelayMs ?? 200;
    this.max = options.maxDelayMs ?? 60_000;
    this.jitter = options.jitter ?? 0.2;
    this.random = options.random ?? Math.random;
  }

  /** Keys waiting (not counting the ones being processed). */
  get depth(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.stopped || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // re-queued by done()
    this.queue.push(key);
    this.waiters.shift()?.();
  }

  /** Adds the key after a delay (an earlier scheduled add of the key wins). */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    if (this.timers.has(key)) return;
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, timer);
  }

  /** The delay before the next retry of a key that failed `failures` times in a row. */
  backoff(failures: number): number {
    const exp = Math.min(this.max, this.base * 2 ** Math.max(0, failures - 1));
    return Math.round(exp * (1 - this.jitter * this.random()));
  }

  /** Re-adds a failed key after its backoff; returns the delay. */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = this.backoff(n);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the failure count of a key (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  private async next(): Promise<string | undefined> {
    while (!this.stopped && this.queue.length === 0) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.stopped) return undefined;
    const key = this.queue.shift()!;
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  private done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.queue.push(key);
      this.waiters.shift()?.();
    }
  }

  /** Runs `workers` loops until `stop()`; a handler error retries the key with backoff. */
  async run(
    handler: Handler,
    workers = 1,
    onError?: (key: string, err: unknown, retryInMs: number) => void,
  ): Promise<void> {
    const loop = async () => {
      for (;;) {
        const key = await this.next();
        if (key === undefined) return;
        try {
          await handler(key);
          this.forget(key);
        } catch (err) {
          const delay = this.addRateLimited(key);
          onError?.(key, err, delay);
        } finally {
          this.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: workers }, loop));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w();
  }
}
