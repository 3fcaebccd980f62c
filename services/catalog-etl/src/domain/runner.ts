/**
 * Runs the ETL continuously (a pass, then a pause of the poll interval) or once (CronJob mode:
 * passes until nothing is left). A failing pass (PostgreSQL or Elasticsearch down) is retried
 * with exponential backoff (p-retry); state is durable, so a retry resumes where it stopped.
 * The setup (state table, indices) runs first and is retried the same way: the stores may be
 * starting too. Metrics and logs go through the ports below (adapters/etl.metrics.ts, pino).
 */
import pRetry from 'p-retry';
import { Etl, StoppedError, type PassResult } from './etl';

export interface RunnerOptions {
  pollIntervalMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** Attempts per pass before giving up; Infinity in continuous mode. */
  retries: number;
  /** Prepares the stores before the first pass (idempotent). */
  setup?: () => Promise<void>;
}

/** What the runner reports (the metrics adapter implements it). */
export interface RunnerObserver {
  /** A pass finished after `seconds`. */
  passed?(seconds: number): void;
  /** A pass or the setup failed and is retried. */
  failed?(): void;
  /** The ETL has nothing left to do right now. */
  caughtUp?(): void;
}

/** The part of a logger the runner uses (pino's Logger fits). */
export interface RunnerLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** What the runner last did, as `GET /api/v1/etl/status` reports it. */
export interface EtlStatus {
  /** `idle` before start, `running` while the loop runs, `stopped` once it ended. */
  state: 'idle' | 'running' | 'stopped';
  /** Passes finished since the process started. */
  passes: number;
  /** Failed attempts (a pass or the setup), each retried with backoff. */
  failures: number;
  /** The last pass that finished. */
  lastPass?: {
    /** When it finished (ISO 8601). */
    finishedAt: string;
    seconds: number;
    indexed: PassResult['indexed'];
    deleted: PassResult['deleted'];
  };
  /** The last failed attempt. */
  lastFailure?: { at: string; message: string };
}

export class Runner {
  private wake?: () => void;
  private running?: Promise<void>;
  private readonly state: EtlStatus = { state: 'idle', passes: 0, failures: 0 };

  constructor(
    private readonly etl: Etl,
    private readonly options: RunnerOptions,
    private readonly logger: RunnerLog,
    private readonly observer?: RunnerObserver,
  ) {}

  /** One pass, retried with exponential backoff while it fails. */
  async pass(): Promise<PassResult> {
    return this.retrying(async () => {
      const started = performance.now();
      const result = await this.etl.pass();
      const seconds = (performance.now() - started) / 1000;
      this.observer?.passed?.(seconds);
      this.state.passes += 1;
      this.state.lastPass = { finishedAt: new Date().toISOString(), seconds, ...result };
      return result;
    });
  }

  /** Runs `work`, retrying with exponential backoff while it fails. */
  async retrying<T>(work: () => Promise<T>): Promise<T> {
    // p-retry only retries instances of Error; errors from another realm (a vm context) are not.
    const normalized = async () => {
      try {
        return await work();
      } catch (err) {
        if (err instanceof Error) throw err;
        const message = (err as { message?: unknown })?.message;
        throw Object.assign(new Error(typeof message === 'string' ? message : String(err)), {
          cause: err,
        });
      }
    };
    return pRetry(normalized, {
      // The `retry` package needs `forever` for unbounded retries (it precomputes timeouts).
      forever: !Number.isFinite(this.options.retries),
      retries: Number.isFinite(this.options.retries) ? this.options.retries : 20,
      factor: 2,
      minTimeout: this.options.retryMinMs,
      maxTimeout: this.options.retryMaxMs,
      randomize: true,
      onFailedAttempt: (error) => {
        if (error instanceof StoppedError || this.etl.stopped) throw error;
        this.observer?.failed?.();
        this.state.failures += 1;
        this.state.lastFailure = { at: new Date().toISOString(), message: error.message };
        this.logger.warn(
          { err: error, attempt: error.attemptNumber, retriesLeft: error.retriesLeft },
          'ETL step failed; retrying with backoff',
        );
      },
    });
  }

  private async setup(): Promise<void> {
    if (this.options.setup) await this.retrying(this.options.setup);
  }

  /** CronJob mode: setup, then passes until one writes nothing (retries bounded). */
  async once(): Promise<PassResult> {
    await this.setup();
    const total: PassResult = {
      indexed: { films: 0, genres: 0, persons: 0 },
      deleted: { films: 0, genres: 0, persons: 0 },
    };
    for (;;) {
      const result = await this.pass();
      for (const k of ['films', 'genres', 'persons'] as const) {
        total.indexed[k] += result.indexed[k];
        total.deleted[k] += result.deleted[k];
      }
      this.observer?.caughtUp?.();
      if (Object.values(result.indexed).every((n) => n === 0)) return total;
    }
  }

  /** Continuous mode: setup, then a pass every poll interval, until stop(). */
  start(): void {
    this.state.state = 'running';
    this.running = (async () => {
      try {
        await this.setup();
      } catch (err) {
        if (!(err instanceof StoppedError || this.etl.stopped)) {
          this.logger.error({ err }, 'ETL setup gave up');
        }
        return;
      }
      while (!this.etl.stopped) {
        try {
          const result = await this.pass();
          this.observer?.caughtUp?.();
          const n = Object.values(result.indexed).reduce((a, b) => a + b, 0);
          const d = Object.values(result.deleted).reduce((a, b) => a + b, 0);
          if (n || d) this.logger.info(result, `indexed ${n}, deleted ${d}`);
        } catch (err) {
          if (err instanceof StoppedError || this.etl.stopped) break;
          this.logger.error({ err }, 'ETL pass gave up');
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.pollIntervalMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    })();
  }

  /** Stops after the current batch; resolves when the loop has ended (in-flight work done). */
  async stop(): Promise<void> {
    this.etl.stop();
    this.wake?.();
    await this.running;
    this.state.state = 'stopped';
  }

  /** What the runner last did (a copy). */
  status(): EtlStatus {
    return structuredClone(this.state);
  }
}
