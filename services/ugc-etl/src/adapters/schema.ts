/** Creates the database and every table at start (idempotent). */
import type { ClickHouseClient } from '@cinema/clickhouse';
import { schemaStatements } from '../domain/tables';

export async function createSchema(
  ch: ClickHouseClient,
  database: string,
  cluster?: string,
): Promise<void> {
  for (const query of schemaStatements(database, cluster)) await ch.command({ query });
}
