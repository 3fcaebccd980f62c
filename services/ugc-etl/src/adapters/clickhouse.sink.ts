/**
 * Batched inserts into ClickHouse. Rows wait per table until the table has `maxRows` rows or the
 * oldest has waited `maxWaitMs`; then one JSONEachRow insert carries them all. `add` resolves only
 * once ClickHouse accepted the insert holding those rows, so the caller commits Kafka offsets
 * after that and never before.
 */
import type { ClickHouseClient } from '@cinema/clickhouse';
import type { Logger } from '@cinema/logging';
import { captureContext, SpanKind, traceFanIn, type Context } from '@cinema/telemetry';
import type { Row } from '../domain/tables';

interface Waiting {
  rows: Row[];
  /** `context`: the caller's trace context, for the insert span (links, mirrors). */
  waiters: Array<{ resolve: () => void; reject: (err: Error) => void; context: Context }>;
  timer?: NodeJS.Timeout;
}

export interface SinkOptions {
  database: string;
  maxRows: number;
  maxWaitMs: number;
  logger: Logger;
  /** Attempts per insert before the waiting callers are failed (they then retry the batch). */
  attempts?: number;
}

export interface SinkStats {
  inserts: number;
  rows: number;
  lastInsertMs: number;
}

export class ClickHouseSink {
  private readonly waiting = new Map<string, Waiting>();
  private readonly inFlight = new Set<Promise<void>>();
  /** One insert at a time per table: the next one gathers what came meanwhile. */
  private readonly chains = new Map<string, Promise<void>>();
  readonly stats: SinkStats = { inserts: 0, rows: 0, lastInsertMs: 0 };

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly options: SinkOptions,
  ) {}

  /**
   * Queues `rows` for `table`; resolves once ClickHouse accepted them. `now`: insert without
   * waiting for more rows (the caller knows more are already waiting upstream, so holding this
   * batch back for `maxWaitMs` would only add latency and cap the rate).
   */
  add(table: string, rows: Row[], now = false): Promise<void> {
    if (!rows.length) return Promise.resolve();
    let w = this.waiting.get(table);
    if (!w) this.waiting.set(table, (w = { rows: [], waiters: [] }));
    for (const r of rows) w.rows.push(r);
    const context = captureContext();
    const done = new Promise<void>((resolve, reject) =>
      w.waiters.push({ resolve, reject, context }),
    );
    if (now || w.rows.length >= this.options.maxRows) this.flush(table);
    else if (!w.timer) w.timer = setTimeout(() => this.flush(table), this.options.maxWaitMs);
    return done;
  }

  private flush(table: string): void {
    const w = this.waiting.get(table);
    if (!w) return;
    this.waiting.delete(table);
    clearTimeout(w.timer);
    const previous = this.chains.get(table) ?? Promise.resolve();
    const run = previous.then(() => this.insert(table, w));
    this.chains.set(table, run);
    this.inFlight.add(run);
    void run.finally(() => {
      this.inFlight.delete(run);
      if (this.chains.get(table) === run) this.chains.delete(table);
    });
  }

  private async insert(table: string, w: Waiting): Promise<void> {
    const attempts = this.options.attempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      try {
        const target = `${this.options.database}.${table}`;
        // One span per insert, serving every waiting batch's trace (see @cinema/telemetry fan-in).
        await traceFanIn(
          `clickhouse insert ${target}`,
          w.waiters.map((x) => x.context),
          () => this.ch.insert({ table: target, values: w.rows, format: 'JSONEachRow' }),
          {
            kind: SpanKind.CLIENT,
            attributes: {
              'db.system': 'clickhouse',
              'db.operation': 'INSERT',
              'db.namespace': this.options.database,
              'db.collection.name': table,
              'db.operation.batch.size': w.rows.length,
            },
          },
        );
        this.stats.inserts++;
        this.stats.rows += w.rows.length;
        this.stats.lastInsertMs = Date.now() - started;
        for (const x of w.waiters) x.resolve();
        return;
      } catch (err) {
        this.options.logger.warn(
          { err, table, rows: w.rows.length, attempt },
          'clickhouse insert failed',
        );
        if (attempt >= attempts) {
          for (const x of w.waiters) x.reject(err as Error);
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  /** Inserts everything waiting and waits for the inserts in flight. */
  async drain(): Promise<void> {
    for (const table of [...this.waiting.keys()]) this.flush(table);
    await Promise.allSettled([...this.inFlight]);
  }
}
