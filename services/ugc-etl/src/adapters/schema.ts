/**
 * Creates the database, every table and the analytics rollups at start (idempotent). A rollup
 * table made now gets its views first, then a back-fill of the events stored before them; the
 * consumer has not started yet at this point, so no insert is counted twice.
 */
import type { ClickHouseClient } from '@cinema/clickhouse';
import { rollupStatements } from '../domain/rollups';
import { schemaStatements } from '../domain/tables';

export async function createSchema(
  ch: ClickHouseClient,
  database: string,
  cluster?: string,
): Promise<void> {
  for (const query of schemaStatements(database, cluster)) await ch.command({ query });
  const { upgrade, rollups } = rollupStatements(database, cluster);
  for (const query of upgrade) await ch.command({ query });
  for (const rollup of rollups) {
    const existed = await tableExists(ch, database, rollup.table);
    for (const query of rollup.create) await ch.command({ query });
    if (!existed) for (const query of rollup.backfill) await ch.command({ query });
  }
}

async function tableExists(ch: ClickHouseClient, database: string, table: string) {
  const rs = await ch.query({
    query:
      'SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = {t:String}',
    query_params: { db: database, t: table },
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ n: string }>();
  return Number(row?.n ?? 0) > 0;
}
