/** Reads the `content` schema (owned by catalog-admin) by keyset, for the ETL. */
import type { Pool } from '@cinema/pg';
import type { FilmRow, GenreRow, PersonRow } from '../domain/documents';
import type { ContentSource, Cursor, Entity } from '../domain/etl';

export class ContentRepository implements ContentSource {
  /**
   * @param settleMs rows changed more recently than this are left for the next pass.
   * The keyset orders by the timestamptz columns themselves (not their text), so the
   * (modified, id) indices serve every scan.
   */
  constructor(
    private readonly pool: Pool,
    private readonly settleMs: number,
  ) {}

  async now(): Promise<string> {
    const { rows } = await this.pool.query<{ now: string }>(
      'SELECT clock_timestamp()::text AS now',
    );
    return rows[0]!.now;
  }

  async changedFilms(after: Cursor, limit: number): Promise<Cursor[]> {
    const { rows } = await this.pool.query<Cursor>(
      `SELECT f.id, f.modified::text AS modified FROM content.film_work f
        WHERE (f.modified, f.id) > ($1::timestamptz, $2::uuid)
          AND f.modified < statement_timestamp() - $4 * interval '1 millisecond'
        ORDER BY f.modified, f.id LIMIT $3`,
      [after.modified, after.id, limit, this.settleMs],
    );
    return rows;
  }

  async changedGenres(after: Cursor, limit: number): Promise<GenreRow[]> {
    const { rows } = await this.pool.query<GenreRow>(
      `SELECT g.id, g.name, g.description, g.modified::text AS modified FROM content.genre g
        WHERE (g.modified, g.id) > ($1::timestamptz, $2::uuid)
          AND g.modified < statement_timestamp() - $4 * interval '1 millisecond'
        ORDER BY g.modified, g.id LIMIT $3`,
      [after.modified, after.id, limit, this.settleMs],
    );
    return rows;
  }

  async changedPersons(after: Cursor, limit: number): Promise<PersonRow[]> {
    const { rows } = await this.pool.query<PersonRow>(
      `SELECT p.id, p.full_name, p.birth_date::text AS birth_date, p.modified::text AS modified
         FROM content.person p
        WHERE (p.modified, p.id) > ($1::timestamptz, $2::uuid)
          AND p.modified < statement_timestamp() - $4 * interval '1 millisecond'
        ORDER BY p.modified, p.id LIMIT $3`,
      [after.modified, after.id, limit, this.settleMs],
    );
    return rows;
  }

  async films(ids: string[]): Promise<FilmRow[]> {
    if (!ids.length) return [];
    // One pass over each link table for the whole batch (hash joins), not one lookup per film.
    const { rows } = await this.pool.query<FilmRow>(
      `WITH g AS (
         SELECT gfw.film_work_id AS id,
                json_agg(json_build_object('id', g.id, 'name', g.name) ORDER BY g.name) AS genres
           FROM content.genre_film_work gfw
           JOIN content.genre g ON g.id = gfw.genre_id
          WHERE gfw.film_work_id = ANY($1::uuid[])
          GROUP BY gfw.film_work_id
       ), p AS (
         SELECT pfw.film_work_id AS id,
                json_agg(json_build_object('id', p.id, 'full_name', p.full_name, 'role', pfw.role)
                         ORDER BY pfw.role, p.full_name, p.id) AS persons
           FROM content.person_film_work pfw
           JOIN content.person p ON p.id = pfw.person_id
          WHERE pfw.film_work_id = ANY($1::uuid[])
          GROUP BY pfw.film_work_id
       )
       SELECT f.id, f.title, f.description, f.creation_date::text AS creation_date, f.rating,
              f.type, f.file_path, f.modified::text AS modified,
              COALESCE(g.genres, '[]'::json) AS genres,
              COALESCE(p.persons, '[]'::json) AS persons
         FROM content.film_work f
         LEFT JOIN g ON g.id = f.id
         LEFT JOIN p ON p.id = f.id
        WHERE f.id = ANY($1::uuid[])`,
      [ids],
    );
    return rows;
  }

  async filmIdsOfGenres(ids: string[]): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT DISTINCT film_work_id AS id FROM content.genre_film_work
        WHERE genre_id = ANY($1::uuid[]) ORDER BY 1`,
      [ids],
    );
    return rows.map((r) => r.id);
  }

  async filmIdsOfPersons(ids: string[]): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT DISTINCT film_work_id AS id FROM content.person_film_work
        WHERE person_id = ANY($1::uuid[]) ORDER BY 1`,
      [ids],
    );
    return rows.map((r) => r.id);
  }

  async tombstones(
    afterSeq: string,
    limit: number,
  ): Promise<Array<{ seq: string; entity: Entity; id: string }>> {
    const { rows } = await this.pool.query<{ seq: string; entity: Entity; id: string }>(
      `SELECT seq::text AS seq, entity, id FROM content.tombstone
        WHERE seq > $1::bigint
          AND deleted_at < statement_timestamp() - $3 * interval '1 millisecond'
        ORDER BY seq LIMIT $2`,
      [afterSeq, limit, this.settleMs],
    );
    return rows;
  }
}
