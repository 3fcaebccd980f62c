/** The `content` schema's migrations (services/catalog-admin/migrations), applied with @cinema/pg. */
import * as path from 'node:path';
import { migrate, type MigrationResult, type Pool } from '@cinema/pg';

/** From src/ or dist/ alike. */
export const MIGRATIONS_DIR = path.resolve(__dirname, '..', 'migrations');

export function migrateContent(pool: Pool, log?: (m: string) => void): Promise<MigrationResult> {
  return migrate(pool, { dir: MIGRATIONS_DIR, schema: 'content', log });
}
