#!/usr/bin/env node
/**
 * catalog-admin command line.
 *
 *   catalog-admin migrate-sqlite <file.sqlite> [--batch-size N] [--verify-only] [--report out.json]
 *                                [--no-progress]
 *   catalog-admin migrate-schema
 *
 * DATABASE_URL names the PostgreSQL database. Exit codes: 0 the copy is complete and equal,
 * 1 the verification found differences (bad rows included), 2 bad usage or an unreadable source,
 * 3 the database failed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { MultiBar, Presets } from 'cli-progress';
import { loadConfig, z } from '@cinema/config';
import { createPool } from '@cinema/pg';
import {
  migrateSqlite,
  SourceError,
  type MigrationReport,
  type Progress,
} from './migration/migrate';
import { migrateContent } from './schema';

const USAGE = `usage:
  catalog-admin migrate-sqlite <file.sqlite> [--batch-size N] [--verify-only] [--report out.json] [--no-progress]
  catalog-admin migrate-schema
environment: DATABASE_URL (required)`;

const out = (line = '') => process.stdout.write(`${line}\n`);
const err = (line = '') => process.stderr.write(`${line}\n`);

function progressBars(): Progress {
  const multibar = new MultiBar(
    {
      format: ' {table} |{bar}| {value}/{total} rows | {bad} bad',
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 2000,
    },
    Presets.shades_classic,
  );
  const bars = new Map<string, ReturnType<MultiBar['create']>>();
  return {
    start(table, total) {
      bars.set(table, multibar.create(total, 0, { table: table.padEnd(16), bad: 0 }));
    },
    update(table, done, bad) {
      bars.get(table)?.update(done, { bad });
    },
    stop() {
      multibar.stop();
    },
  };
}

export function printReport(report: MigrationReport, log: (line: string) => void = out): void {
  if (report.ignoredTables.length) log(`ignored tables: ${report.ignoredTables.join(', ')}`);
  if (report.missingTables.length) {
    log(`MISSING tables in the SQLite file: ${report.missingTables.join(', ')}`);
  }
  if (report.copy.length) {
    log('copy:');
    for (const c of report.copy) {
      log(
        `  ${c.table.padEnd(17)} ${String(c.source).padStart(7)} rows: ${c.inserted} inserted, ${c.updated} updated, ${c.unchanged} unchanged, ${c.bad} bad`,
      );
    }
  }
  if (report.badRows.length) {
    log(`bad rows (skipped): ${report.badRows.length}`);
    for (const b of report.badRows.slice(0, 100)) log(`  ${b.table} ${b.id}: ${b.reason}`);
    if (report.badRows.length > 100) log(`  … ${report.badRows.length - 100} more`);
  }
  if (report.analyzed.length) log(`analyzed: ${report.analyzed.join(', ')}`);
  log('verification (row by row):');
  for (const v of report.verification) {
    const ok = v.equal === v.sourceRows && v.sourceRows === v.targetRows && !v.extra;
    log(
      `  ${ok ? 'OK  ' : 'DIFF'} ${v.table.padEnd(17)} SQLite ${v.sourceRows}, PostgreSQL ${v.targetRows}: ${v.equal} equal, ${v.missing} missing, ${v.different} different, ${v.extra} extra`,
    );
    for (const s of v.samples) log(`       ${s}`);
  }
  log(
    `${report.equal ? 'EQUAL' : 'DIFFERENT'}: verification ${report.equal ? 'passed' : 'failed'} in ${(report.durationMs / 1000).toFixed(1)} s`,
  );
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'batch-size': { type: 'string', default: '500' },
        'verify-only': { type: 'boolean', default: false },
        report: { type: 'string' },
        'no-progress': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [command, file, ...rest] = parsed.positionals;
  if (parsed.values.help) {
    out(USAGE);
    return 0;
  }
  if (
    !command ||
    !['migrate-sqlite', 'migrate-schema'].includes(command) ||
    rest.length ||
    (command === 'migrate-sqlite' && !file)
  ) {
    err(USAGE);
    return 2;
  }
  const batchText = parsed.values['batch-size'];
  const batchSize = /^\d{1,5}$/.test(batchText) ? Number(batchText) : NaN;
  if (!(batchSize >= 1 && batchSize <= 10_000)) {
    err(`--batch-size must be an integer from 1 to 10000\n${USAGE}`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(z.object({ DATABASE_URL: z.string().url() }), process.env);
  } catch (e) {
    err((e as Error).message);
    return 2;
  }
  const pool = createPool(config.DATABASE_URL, { max: 4, application_name: 'catalog-admin-cli' });
  pool.on('error', () => undefined);
  try {
    const { applied } = await migrateContent(pool);
    if (applied.length) err(`schema content: applied ${applied.join(', ')}`);
    if (command === 'migrate-schema') {
      out(`schema content up to date${applied.length ? ` (applied ${applied.join(', ')})` : ''}`);
      return 0;
    }
    const source = path.resolve(file!);
    const showProgress = !parsed.values['no-progress'];
    err(`migrating ${source}`);
    const report = await migrateSqlite(source, pool, {
      batchSize,
      verifyOnly: parsed.values['verify-only'],
      progress: showProgress ? progressBars() : undefined,
    });
    printReport(report);
    if (parsed.values.report) {
      fs.writeFileSync(parsed.values.report, JSON.stringify(report, null, 2));
    }
    return report.equal ? 0 : 1;
  } catch (e) {
    if (e instanceof SourceError) {
      err(e.message);
      return 2;
    }
    // Never print the URL (it may carry a password): the driver's message names the failure.
    err(`database failure: ${(e as Error).message}`);
    return 3;
  } finally {
    await pool.end().catch(() => undefined);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      err(String((e as Error).stack ?? e));
      process.exit(3);
    },
  );
}

export { main };
