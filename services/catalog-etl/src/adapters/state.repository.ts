/** Durable ETL state in PostgreSQL (schema catalog_etl), one row per stream. */
import * as path from 'node:path';
import { migrate, type Pool } from '@cinema/pg';
import { START, type Cursor, type Entity, type StateStore } from '../domain/etl';

export const MIGRATIONS_DIR = path.resolve(__dirname, '../../migrations');

export class StateRepository implements StateStore {
  /** @param scope separates the state of ETLs writing to different index sets */
  constructor(
    private readonly pool: Pool,
    private readonly scope: string,
  ) {}

  static async migrate(pool: Pool): Promise<void> {
    await migrate(pool, { dir: MIGRATIONS_DIR, schema: 'catalog_etl' });
  }

  private key(stream: string): string {
    return `${this.scope}${stream}`;
  }

  async cursor(stream: Entity): Promise<Cursor> {
    const { rows } = await this.pool.query<Cursor>(
      `SELECT cursor_modified::text AS modified, cursor_id AS id FROM catalog_etl.state
        WHERE stream = $1 AND cursor_modified IS NOT NULL`,
      [this.key(stream)],
    );
    return rows[0] ?? START;
  }

  async saveCursor(stream: Entity, cursor: Cursor): Promise<void> {
    await this.pool.query(
      `INSERT INTO catalog_etl.state (stream, cursor_modified, cursor_id, updated_at)
       VALUES ($1, $2::timestamptz, $3::uuid, now())
       ON CONFLICT (stream) DO UPDATE
         SET cursor_modified = EXCLUDED.cursor_modified, cursor_id = EXCLUDED.cursor_id,
             updated_at = now()`,
      [this.key(stream), cursor.modified, cursor.id],
    );
  }

  async seq(stream: 'tombstone'): Promise<string> {
    const { rows } = await this.pool.query<{ seq: string }>(
      `SELECT cursor_seq::text AS seq FROM catalog_etl.state
        WHERE stream = $1 AND cursor_seq IS NOT NULL`,
      [this.key(stream)],
    );
    return rows[0]?.seq ?? '0';
  }

  async saveSeq(stream: 'tombstone', seq: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO catalog_etl.state (stream, cursor_seq, updated_at) VALUES ($1, $2::bigint, now())
       ON CONFLICT (stream) DO UPDATE SET cursor_seq = EXCLUDED.cursor_seq, updated_at = now()`,
      [this.key(stream), seq],
    );
  }
}
