import type { Category, Channel, PreferenceSettings, PreferencesRepository } from '../domain/model';
import type { Queryable } from './db';

export class PgPreferencesRepository implements PreferencesRepository {
  constructor(private readonly db: Queryable) {}

  async get(userId: string): Promise<PreferenceSettings> {
    const res = await this.db.query<{ category: Category; channel: Channel; enabled: boolean }>(
      `SELECT category, channel, enabled FROM preferences WHERE user_id = $1`,
      [userId],
    );
    const out: PreferenceSettings = {};
    for (const r of res.rows) (out[r.category] ??= {})[r.channel] = r.enabled;
    return out;
  }

  /** Upserts the given settings in one statement (the others stay). */
  async set(userId: string, settings: PreferenceSettings): Promise<void> {
    const rows = Object.entries(settings).flatMap(([category, channels]) =>
      Object.entries(channels ?? {}).map(
        ([channel, enabled]) => [category, channel, enabled] as const,
      ),
    );
    if (!rows.length) return;
    await this.db.query(
      `INSERT INTO preferences (user_id, category, channel, enabled)
       SELECT $1, c, ch, e FROM unnest($2::text[], $3::text[], $4::boolean[]) AS t(c, ch, e)
       ON CONFLICT (user_id, category, channel) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = now()`,
      [userId, rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
    );
  }
}
