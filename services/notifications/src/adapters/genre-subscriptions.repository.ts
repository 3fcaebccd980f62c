/** Genre opt-ins in PostgreSQL (`genre_subscriptions`, migration 030). */
import type { Pool } from '@cinema/pg';
import type { GenreFollowers } from '../domain/catalog-events';
import type { GenreChoice, GenreSubscriptionsRepository } from '../domain/genres';

export class PgGenreSubscriptionsRepository
  implements GenreSubscriptionsRepository, GenreFollowers
{
  constructor(private readonly pool: Pool) {}

  async list(userId: string): Promise<GenreChoice[]> {
    const res = await this.pool.query<GenreChoice>(
      `SELECT genre AS name, genre_id AS id FROM genre_subscriptions
        WHERE user_id = $1 ORDER BY lower(genre)`,
      [userId],
    );
    return res.rows;
  }

  async replace(userId: string, genres: GenreChoice[]): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`DELETE FROM genre_subscriptions WHERE user_id = $1`, [userId]);
      if (genres.length) {
        await client.query(
          `INSERT INTO genre_subscriptions (user_id, genre, genre_id)
           SELECT $1, g.name, g.id FROM unnest($2::text[], $3::uuid[]) AS g(name, id)`,
          [userId, genres.map((g) => g.name), genres.map((g) => g.id ?? null)],
        );
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Followers of any of the genres, by id or by name (case-insensitive); not deleted users. */
  async followers(
    genres: Array<{ id: string; name: string }>,
    afterUserId: string | null,
    limit: number,
  ): Promise<string[]> {
    const res = await this.pool.query<{ user_id: string }>(
      `SELECT DISTINCT s.user_id FROM genre_subscriptions s
         LEFT JOIN recipients r ON r.user_id = s.user_id
        WHERE (s.genre_id = ANY($1::uuid[]) OR lower(s.genre) = ANY($2::text[]))
          AND r.deleted_at IS NULL
          AND ($3::uuid IS NULL OR s.user_id > $3::uuid)
        ORDER BY s.user_id LIMIT $4`,
      [genres.map((g) => g.id), genres.map((g) => g.name.toLowerCase()), afterUserId, limit],
    );
    return res.rows.map((r) => r.user_id);
  }
}
