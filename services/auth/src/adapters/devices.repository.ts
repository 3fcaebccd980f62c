import type { DevicesRepository as Port } from '../domain/model';
import type { Queryable } from './db';

export class DevicesRepository implements Port {
  constructor(private readonly db: Queryable) {}

  async remember(userId: string, fingerprint: string) {
    const res = await this.db.query<{ known: string }>(
      `WITH ins AS (
         INSERT INTO known_devices (user_id, fingerprint) VALUES ($1, $2)
         ON CONFLICT DO NOTHING RETURNING 1
       )
       SELECT (SELECT count(*) FROM ins) AS inserted,
              (SELECT count(*) FROM known_devices WHERE user_id = $1) AS known`,
      [userId, fingerprint],
    );
    const row = res.rows[0] as unknown as { inserted: string; known: string };
    const isNew = Number(row.inserted) > 0;
    // The CTE's insert is not visible to the same statement's count: known counts the others.
    return { isNew, firstDevice: isNew && Number(row.known) === 0 };
  }
}
