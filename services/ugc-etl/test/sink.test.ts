/**
 * The sink's batching rule, with a recording stand-in for the ClickHouse client (no I/O here;
 * the same rule against real Kafka and chDB is in etl.int.test.ts).
 */
import type { ClickHouseClient } from '@cinema/clickhouse';
import { createLogger } from '@cinema/logging';
import { ClickHouseSink } from '../src/adapters/clickhouse.sink';

const logger = createLogger({ service: 'sink-test', level: 'silent' });

/** A sink over a client that records each insert (table, row count, time). */
function recordingSink(maxRows: number, maxWaitMs: number) {
  const inserts: Array<{ table: string; rows: number; at: number }> = [];
  const client = {
    insert: async (params: { table: string; values: unknown[] }) => {
      inserts.push({ table: params.table, rows: params.values.length, at: Date.now() });
      return { executed: true, query_id: 'q', summary: undefined, response_headers: {} };
    },
  } as unknown as ClickHouseClient;
  return {
    sink: new ClickHouseSink(client, { database: 'db', maxRows, maxWaitMs, logger }),
    inserts,
  };
}
const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ event_id: String(i) }));

describe('ClickHouseSink', () => {
  it('holds a small batch until maxWaitMs, then inserts it in one go', async () => {
    const { sink, inserts } = recordingSink(100, 150);
    const started = Date.now();
    await Promise.all([sink.add('t', rows(3)), sink.add('t', rows(4))]);
    expect(inserts).toHaveLength(1);
    expect(inserts[0]).toMatchObject({ table: 'db.t', rows: 7 });
    expect(inserts[0].at - started).toBeGreaterThanOrEqual(140);
  });

  it('inserts at once when the batch reaches maxRows', async () => {
    const { sink, inserts } = recordingSink(5, 60_000);
    await sink.add('t', rows(5));
    expect(inserts).toEqual([expect.objectContaining({ rows: 5 })]);
  });

  it('inserts at once when told more rows are waiting upstream, without the timer', async () => {
    const { sink, inserts } = recordingSink(1000, 60_000);
    const small = sink.add('t', rows(2));
    await sink.add('t', rows(3), true);
    await small;
    // The rows queued before ride along with the urgent ones: one insert, nothing left behind.
    expect(inserts).toEqual([expect.objectContaining({ table: 'db.t', rows: 5 })]);
    await sink.drain();
    expect(inserts).toHaveLength(1);
  });
});
