/**
 * A ClickHouse cluster cannot run here: the cluster DDL is checked by the embedded engine's own
 * parser (chDB, EXPLAIN AST), statement by statement.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createClickHouse, type ClickHouseClient } from '@cinema/clickhouse';
import { rollupStatements } from '../src/domain/rollups';
import { schemaStatements } from '../src/domain/tables';

const dir = path.join(os.tmpdir(), `cinema-ugc-ddl-${process.pid}`);
let ch: ClickHouseClient;

beforeAll(() => {
  ch = createClickHouse({ path: dir });
});
afterAll(async () => {
  await ch.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('parses every ON CLUSTER statement (Replicated local tables, Distributed tables)', async () => {
  const statements = schemaStatements('tracking_user_events', 'events');
  for (const query of statements) {
    const rs = await ch.query({ query: `EXPLAIN AST ${query}`, format: 'TabSeparatedRaw' });
    const ast = await rs.text();
    expect(ast).toMatch(/CreateQuery/);
  }
  const asts = await Promise.all(
    statements
      .slice(1, 3)
      .map(async (q) =>
        (await ch.query({ query: `EXPLAIN AST ${q}`, format: 'TabSeparatedRaw' })).text(),
      ),
  );
  expect(asts[0]).toContain('ReplicatedReplacingMergeTree');
  expect(asts[1]).toContain('Distributed');
}, 60_000);

it('parses the rollups ON CLUSTER (Replicated local tables, their views, Distributed tables)', async () => {
  const { upgrade, rollups } = rollupStatements('tracking_user_events', 'events');
  const statements = [...upgrade, ...rollups.flatMap((r) => r.create)];
  expect(rollups.every((r) => r.backfill.length === 0)).toBe(true);
  for (const query of statements) {
    const rs = await ch.query({ query: `EXPLAIN AST ${query}`, format: 'TabSeparatedRaw' });
    expect([query, await rs.text()]).toEqual([
      query,
      expect.stringMatching(/CreateQuery|AlterQuery/),
    ]);
  }
  expect(statements.join('\n')).toContain('ReplicatedAggregatingMergeTree');
  expect(statements.join('\n')).toContain('TO tracking_user_events.r_viewers_daily_local');
}, 60_000);
