/** Creates the database and every table at start (idempotent). */
import type { ClickHouseClient } from '@cinema/clickhouse';
import { TABLES } from '../domain/tables';

export async function createSchema(ch: ClickHouseClient, database: string): Promise<void> {
  await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  for (const spec of TABLES) {
    await ch.command({ query: `CREATE TABLE IF NOT EXISTS ${database}.${spec.table} ${spec.ddl}` });
  }
}
