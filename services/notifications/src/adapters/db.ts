/** PostgreSQL pool on the service's schema, and its migrations (`@cinema/pg`'s `migrate`). */
import * as path from 'node:path';
import { createPool, migrate, type MigrationResult, type Pool, type PoolClient } from '@cinema/pg';

export type Queryable = Pick<Pool, 'query'> | Pick<PoolClient, 'query'>;

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', 'migrations');

/** A pool whose connections resolve unqualified names in `schema`. */
export function createSchemaPool(url: string, schema: string, max = 10): Pool {
  return createPool(url, { max, options: `-c search_path=${schema},public` });
}

export function runMigrations(
  pool: Pool,
  schema: string,
  log?: (m: string) => void,
): Promise<MigrationResult> {
  return migrate(pool, { dir: MIGRATIONS_DIR, schema, log });
}

/** Runs `work` in one transaction on one connection. */
export async function inTransaction<T>(
  pool: Pool,
  work: (tx: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
