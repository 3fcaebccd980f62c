/**
 * Copies the legacy SQLite catalog into schema `content`, then proves the copy: every table is
 * compared row by row (counts and contents).
 *
 * - Batched: rows go in batches, one transaction each.
 * - Idempotent: each batch first reads the rows PostgreSQL already has; equal rows are left
 *   alone (a second run writes nothing), missing rows are inserted, different rows updated.
 * - Bad rows are reported with the reason and skipped: rules are checked before writing, and a
 *   batch the database still refuses (a link to a film that is not there, a duplicate name) is
 *   replayed row by row under savepoints so only the offending rows are dropped.
 * - Unknown tables in the SQLite file are listed and ignored.
 */
import * as fs from 'node:fs';
import initSqlJs, { type Database, type SqlValue } from 'sql.js';
import type { Pool, PoolClient } from '@cinema/pg';
import {
  differences,
  parseSourceRow,
  pgSelectList,
  PG_TYPES,
  TABLES,
  type Canonical,
  type ParsedRow,
  type TableSpec,
} from './tables';

export interface BadRowReport {
  table: string;
  id: string;
  reason: string;
}

export interface TableCopyStats {
  table: string;
  source: number;
  inserted: number;
  updated: number;
  unchanged: number;
  bad: number;
}

export interface TableVerification {
  table: string;
  sourceRows: number;
  targetRows: number;
  equal: number;
  missing: number;
  different: number;
  extra: number;
  /** The first differences, each naming the row and the columns. */
  samples: string[];
}

export interface MigrationReport {
  ignoredTables: string[];
  missingTables: string[];
  copy: TableCopyStats[];
  badRows: BadRowReport[];
  /** Tables ANALYZEd after the copy, so the planner has statistics for the loaded rows. */
  analyzed: string[];
  verification: TableVerification[];
  /** True when every table is equal in both databases. */
  equal: boolean;
  durationMs: number;
}

export interface Progress {
  start(table: string, total: number): void;
  update(table: string, done: number, bad: number): void;
  stop(): void;
}

export interface MigrateSqliteOptions {
  batchSize?: number;
  progress?: Progress;
  /** Skip the copy and only compare. */
  verifyOnly?: boolean;
  /** How many differences per table to keep as samples. */
  sampleLimit?: number;
}

export class SourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceError';
  }
}

export async function openSqlite(file: string): Promise<Database> {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new SourceError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (bytes.subarray(0, 16).toString('latin1') !== 'SQLite format 3\u0000') {
    throw new SourceError(`${file} is not an SQLite database`);
  }
  const SQL = await initSqlJs();
  return new SQL.Database(bytes);
}

function sourceTables(db: Database): string[] {
  const res = db.exec(
    `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
  );
  return (res[0]?.values ?? []).map((r) => String(r[0]));
}

/** Rows of a SQLite table in batches, ordered by id so runs are repeatable. */
function* batches(
  db: Database,
  table: string,
  size: number,
): Generator<Array<Record<string, SqlValue>>> {
  const stmt = db.prepare(`SELECT * FROM "${table}" ORDER BY id`);
  try {
    let batch: Array<Record<string, SqlValue>> = [];
    while (stmt.step()) {
      batch.push(stmt.getAsObject());
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  } finally {
    stmt.free();
  }
}

const count = (db: Database, table: string): number =>
  Number(db.exec(`SELECT count(*) FROM "${table}"`)[0]!.values[0]![0]);

async function targetRows(
  client: Pool | PoolClient,
  table: TableSpec,
  ids: string[],
): Promise<Map<string, Record<string, Canonical>>> {
  const { rows } = await client.query<Record<string, Canonical>>(
    `SELECT ${pgSelectList(table)} FROM content.${table.name} WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id as string, r]));
}

const recordset = (table: TableSpec) =>
  table.columns.map((c) => `${c.dst} ${PG_TYPES[c.kind]}`).join(', ');

async function insertRows(client: PoolClient, table: TableSpec, rows: ParsedRow[]) {
  if (!rows.length) return 0;
  const cols = table.columns.map((c) => c.dst);
  const select = table.columns.map((c) =>
    c.kind === 'timestamp' ? `COALESCE(x.${c.dst}, now())` : `x.${c.dst}`,
  );
  const res = await client.query(
    `INSERT INTO content.${table.name} (${cols.join(', ')})
     SELECT ${select.join(', ')} FROM jsonb_to_recordset($1::jsonb) AS x(${recordset(table)})
     ON CONFLICT (id) DO NOTHING`,
    [JSON.stringify(rows.map((r) => r.values))],
  );
  return res.rowCount ?? 0;
}

async function updateRows(client: PoolClient, table: TableSpec, rows: ParsedRow[]) {
  if (!rows.length) return 0;
  // `modified` is left to the trigger: the change is recent as far as readers (the ETL) go.
  const sets = table.columns
    .filter((c) => c.dst !== 'id' && !c.maintained)
    .map((c) =>
      c.kind === 'timestamp'
        ? `${c.dst} = COALESCE(x.${c.dst}, t.${c.dst})`
        : `${c.dst} = x.${c.dst}`,
    );
  const res = await client.query(
    `UPDATE content.${table.name} AS t SET ${sets.join(', ')}
       FROM jsonb_to_recordset($1::jsonb) AS x(${recordset(table)}) WHERE t.id = x.id`,
    [JSON.stringify(rows.map((r) => r.values))],
  );
  return res.rowCount ?? 0;
}

interface BatchResult {
  inserted: number;
  updated: number;
  unchanged: number;
  bad: BadRowReport[];
}

async function writeBatch(
  client: PoolClient,
  table: TableSpec,
  rows: ParsedRow[],
): Promise<BatchResult> {
  const existing = await targetRows(
    client,
    table,
    rows.map((r) => r.id),
  );
  const fresh: ParsedRow[] = [];
  const changed: ParsedRow[] = [];
  for (const row of rows) {
    const have = existing.get(row.id);
    if (!have) fresh.push(row);
    else if (differences(table, row.values, have, { includeMaintained: false }).length) {
      changed.push(row);
    }
  }
  const inserted = await insertRows(client, table, fresh);
  const updated = await updateRows(client, table, changed);
  return {
    inserted,
    updated,
    unchanged: rows.length - fresh.length - changed.length,
    bad: [],
  };
}

function reasonOf(err: unknown): string {
  const e = err as { message?: string; detail?: string };
  return e.detail ? `${e.message}: ${e.detail}` : (e.message ?? String(err));
}

async function copyBatch(pool: Pool, table: TableSpec, rows: ParsedRow[]): Promise<BatchResult> {
  const client = await pool.connect();
  try {
    try {
      await client.query('BEGIN');
      const result = await writeBatch(client, table, rows);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK');
      if (!(err as { code?: string }).code?.match(/^(22|23)/)) throw err; // not a data problem
    }
    // Replay one row at a time to find the rows the database refuses.
    const total: BatchResult = { inserted: 0, updated: 0, unchanged: 0, bad: [] };
    await client.query('BEGIN');
    for (const row of rows) {
      await client.query('SAVEPOINT row');
      try {
        const r = await writeBatch(client, table, [row]);
        total.inserted += r.inserted;
        total.updated += r.updated;
        total.unchanged += r.unchanged;
        await client.query('RELEASE SAVEPOINT row');
      } catch (err) {
        await client.query('ROLLBACK TO SAVEPOINT row');
        total.bad.push({ table: table.name, id: row.id, reason: reasonOf(err) });
      }
    }
    await client.query('COMMIT');
    return total;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function copyTable(
  db: Database,
  pool: Pool,
  table: TableSpec,
  options: Required<Pick<MigrateSqliteOptions, 'batchSize'>> & MigrateSqliteOptions,
  badRows: BadRowReport[],
): Promise<TableCopyStats> {
  const stats: TableCopyStats = {
    table: table.name,
    source: count(db, table.name),
    inserted: 0,
    updated: 0,
    unchanged: 0,
    bad: 0,
  };
  options.progress?.start(table.name, stats.source);
  let done = 0;
  for (const batch of batches(db, table.name, options.batchSize)) {
    const good: ParsedRow[] = [];
    const seen = new Set<string>();
    for (const raw of batch) {
      const parsed = parseSourceRow(table, raw);
      if (!parsed.ok) {
        badRows.push({ table: table.name, id: parsed.id, reason: parsed.reason });
        stats.bad += 1;
      } else if (seen.has(parsed.id)) {
        badRows.push({ table: table.name, id: parsed.id, reason: 'duplicate id' });
        stats.bad += 1;
      } else {
        seen.add(parsed.id);
        good.push(parsed);
      }
    }
    const result = await copyBatch(pool, table, good);
    stats.inserted += result.inserted;
    stats.updated += result.updated;
    stats.unchanged += result.unchanged;
    stats.bad += result.bad.length;
    badRows.push(...result.bad);
    done += batch.length;
    options.progress?.update(table.name, done, stats.bad);
  }
  return stats;
}

async function verifyTable(
  db: Database,
  pool: Pool,
  table: TableSpec,
  batchSize: number,
  sampleLimit: number,
): Promise<TableVerification> {
  const v: TableVerification = {
    table: table.name,
    sourceRows: count(db, table.name),
    targetRows: 0,
    equal: 0,
    missing: 0,
    different: 0,
    extra: 0,
    samples: [],
  };
  const sample = (text: string) => {
    if (v.samples.length < sampleLimit) v.samples.push(text);
  };
  const sourceIds = new Set<string>();
  for (const batch of batches(db, table.name, batchSize)) {
    const parsed = batch.map((raw) => parseSourceRow(table, raw));
    const ids = parsed.filter((p): p is ParsedRow => p.ok).map((p) => p.id);
    const target = await targetRows(pool, table, ids);
    for (const p of parsed) {
      if (!p.ok) {
        v.missing += 1;
        sample(`${table.name} ${p.id}: not copied (${p.reason})`);
        continue;
      }
      if (sourceIds.has(p.id)) {
        v.missing += 1;
        sample(`${table.name} ${p.id}: duplicate id in SQLite`);
        continue;
      }
      sourceIds.add(p.id);
      const row = target.get(p.id);
      if (!row) {
        v.missing += 1;
        sample(`${table.name} ${p.id}: missing in PostgreSQL`);
        continue;
      }
      const diff = differences(table, p.values, row, { includeMaintained: true });
      if (diff.length) {
        v.different += 1;
        sample(`${table.name} ${p.id}: ${diff.join('; ')}`);
      } else v.equal += 1;
    }
  }
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id::text AS id FROM content.${table.name}`,
  );
  v.targetRows = rows.length;
  for (const { id } of rows) {
    if (!sourceIds.has(id)) {
      v.extra += 1;
      sample(`${table.name} ${id}: in PostgreSQL but not in SQLite`);
    }
  }
  return v;
}

/** Verification alone: compares every table row by row (used after the copy, or on its own). */
export async function verifySqliteCopy(
  db: Database,
  pool: Pool,
  options: { batchSize?: number; sampleLimit?: number } = {},
): Promise<TableVerification[]> {
  const present = new Set(sourceTables(db));
  const out: TableVerification[] = [];
  for (const table of TABLES) {
    if (!present.has(table.name)) continue;
    out.push(
      await verifyTable(db, pool, table, options.batchSize ?? 1000, options.sampleLimit ?? 20),
    );
  }
  return out;
}

export async function migrateSqlite(
  file: string,
  pool: Pool,
  options: MigrateSqliteOptions = {},
): Promise<MigrationReport> {
  const started = Date.now();
  const batchSize = options.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new SourceError('the batch size must be an integer from 1 to 10000');
  }
  const db = await openSqlite(file);
  try {
    const present = sourceTables(db);
    const known = new Set<string>(TABLES.map((t) => t.name));
    const report: MigrationReport = {
      ignoredTables: present.filter((t) => !known.has(t)),
      missingTables: TABLES.map((t) => t.name).filter((t) => !present.includes(t)),
      copy: [],
      badRows: [],
      analyzed: [],
      verification: [],
      equal: false,
      durationMs: 0,
    };
    if (!options.verifyOnly) {
      for (const table of TABLES) {
        if (!present.includes(table.name)) continue;
        report.copy.push(
          await copyTable(db, pool, table, { ...options, batchSize }, report.badRows),
        );
      }
      // A bulk load leaves the planner without statistics until autovacuum gets round to the
      // tables (reltuples -1 on a fresh table): gather them now, before the services query.
      for (const { table } of report.copy) {
        await pool.query(`ANALYZE content.${table}`);
        report.analyzed.push(table);
      }
    }
    options.progress?.stop();
    report.verification = await verifySqliteCopy(db, pool, {
      batchSize: Math.max(batchSize, 1000),
      sampleLimit: options.sampleLimit,
    });
    report.equal =
      report.missingTables.length === 0 &&
      report.verification.every(
        (v) =>
          v.missing === 0 &&
          v.different === 0 &&
          v.extra === 0 &&
          v.sourceRows === v.targetRows &&
          v.equal === v.sourceRows,
      );
    report.durationMs = Date.now() - started;
    return report;
  } finally {
    db.close();
  }
}
