/**
 * PostgreSQL helpers shared by the services: a pool with sane defaults and a migrator that
 * applies the `.sql` files of a folder in name order, once each, under an advisory lock (so two
 * replicas starting together do not race), each file in its own transaction. A file already
 * applied whose content changed is refused: migrations are append-only.
 *
 * (node-pg-migrate, the usual choice, is ESM-only since v8 while the services compile to
 * CommonJS; this runner is the small part of it the platform needs.)
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Pool, type PoolConfig } from 'pg';

export { Pool };
export type { PoolClient, QueryResult } from 'pg';

export function createPool(url: string, options: Omit<PoolConfig, 'connectionString'> = {}): Pool {
  return new Pool({
    connectionString: url,
    max: 10,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    application_name: process.env.OTEL_SERVICE_NAME ?? process.env.SERVICE_NAME ?? 'cinema',
    ...options,
  });
}

/** Readiness check: one round trip. */
export async function ping(pool: Pool): Promise<void> {
  await pool.query('SELECT 1');
}

export interface MigrateOptions {
  /** Folder of `NNN_description.sql` files. */
  dir: string;
  /** Schema holding the bookkeeping table (created if missing). */
  schema: string;
  /** Bookkeeping table name. */
  table?: string;
  log?: (message: string) => void;
}

export interface MigrationResult {
  applied: string[];
  skipped: string[];
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

const ident = (name: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new MigrationError(`bad identifier ${name}`);
  return `"${name}"`;
};

export async function migrate(pool: Pool, options: MigrateOptions): Promise<MigrationResult> {
  const files = fs
    .readdirSync(options.dir)
    .filter((f) => /^\d+_[\w-]+\.sql$/.test(f))
    .sort();
  const table = `${ident(options.schema)}.${ident(options.table ?? 'schema_migrations')}`;
  // One lock id per schema, so services with separate schemas do not wait for each other.
  const lockId = createHash('sha256').update(`migrate:${options.schema}`).digest().readInt32BE(0);
  const client = await pool.connect();
  const result: MigrationResult = { applied: [], skipped: [] };
  try {
    await client.query('SELECT pg_advisory_lock($1)', [lockId]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(options.schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (
         name text PRIMARY KEY,
         checksum text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const done = new Map(
      (
        await client.query<{ name: string; checksum: string }>(
          `SELECT name, checksum FROM ${table}`,
        )
      ).rows.map((r) => [r.name, r.checksum]),
    );
    for (const file of files) {
      const sql = fs.readFileSync(path.join(options.dir, file), 'utf8');
      const checksum = createHash('sha256').update(sql).digest('hex');
      const previous = done.get(file);
      if (previous) {
        if (previous !== checksum) {
          throw new MigrationError(
            `${file} was changed after it was applied; add a new migration instead`,
          );
        }
        result.skipped.push(file);
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query(`INSERT INTO ${table} (name, checksum) VALUES ($1, $2)`, [
          file,
          checksum,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new MigrationError(`${file} failed: ${(err as Error).message}`);
      }
      options.log?.(`applied ${file}`);
      result.applied.push(file);
    }
    return result;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [lockId]).catch(() => undefined);
    client.release();
  }
}
