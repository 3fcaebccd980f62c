/**
 * The legacy catalog (movies.sqlite) loaded as the platform loads it, for the benches: through
 * catalog-admin's CLI and one pass of catalog-etl, each run by its own entry point as a process.
 */
import * as path from 'node:path';
import { createPool } from '@cinema/pg';
import { runProcess, runServiceMain, suffix, TSX, type RunningProcess } from '@cinema/testing';

export const MOVIES = path.resolve(__dirname, '../../../../shared/data/movies.sqlite');
const SERVICES = path.resolve(__dirname, '../..');

/** Waits for a command of another service (run through its public entry point) to succeed. */
async function succeeded(what: string, run: RunningProcess): Promise<void> {
  const code = await run.exited;
  if (code !== 0) throw new Error(`${what} exited with ${code}:\n${run.output().slice(-4000)}`);
}

/**
 * The legacy catalog as the platform loads it, through the other services' own entry points:
 * catalog-admin's schema and SQLite migration into a database of this run, then one pass of
 * catalog-etl (`--once`) into indices of this run (which bumps the cache generation). Answers the
 * film ids and title words the requests use, and how to drop the database.
 */
export async function loadLegacyCatalog(
  env: Record<string, string>,
): Promise<{ ids: string[]; titles: string[]; drop: () => Promise<void> }> {
  const adminUrl = process.env.DATABASE_URL!;
  const name = `bench_api_${suffix()}`;
  const admin = createPool(adminUrl, { max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const drop = async () => {
    const a = createPool(adminUrl, { max: 1 });
    await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await a.end();
  };
  // This bench's own tsx settings (its tsconfig) are not theirs.
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('TSX_')),
  );
  try {
    const catalogAdmin = path.join(SERVICES, 'catalog-admin');
    const cli = (...args: string[]) =>
      runProcess(TSX, ['src/cli.ts', ...args], {
        cwd: catalogAdmin,
        env: { ...base, DATABASE_URL: url.toString() },
      });
    await succeeded('catalog-admin migrate-schema', cli('migrate-schema'));
    await succeeded('catalog-admin migrate-sqlite', cli('migrate-sqlite', MOVIES, '--no-progress'));
    await succeeded(
      'catalog-etl --once',
      runServiceMain(
        path.join(SERVICES, 'catalog-etl'),
        { ...base, ...env, DATABASE_URL: url.toString(), ETL_SETTLE_MS: '0' },
        ['--once'],
      ),
    );
    const pool = createPool(url.toString(), { max: 1 });
    const { rows } = await pool.query<{ id: string; title: string }>(
      'SELECT id, title FROM content.film_work',
    );
    await pool.end();
    return { ids: rows.map((r) => r.id), titles: rows.map((r) => r.title), drop };
  } catch (err) {
    await drop();
    throw err;
  }
}
