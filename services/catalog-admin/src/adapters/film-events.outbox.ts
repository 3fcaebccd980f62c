/**
 * The catalog's events written to the transactional outbox (`content.outbox`), inside the
 * transaction of the catalog write that causes them (docs/contracts.md, `catalog.events`).
 */
import { currentTraceparent } from '@cinema/outbox';
import type { PoolClient } from '@cinema/pg';

export const FILM_PUBLISHED = 'film.published';

/**
 * `film.published`, once per film: when the film has a release date (`creation_date`) and was
 * not announced before. One statement: the announcement row (the once-only guard, kept when the
 * outbox row is cleaned up) and the outbox row carrying the film as it is in this transaction
 * (title, genres with ids and names, release date). Answers whether an event was written.
 */
export async function announceFilmIfDated(client: PoolClient, filmId: string): Promise<boolean> {
  const res = await client.query(
    `WITH film AS (
       SELECT f.id, f.title, f.creation_date FROM content.film_work f
        WHERE f.id = $1 AND f.creation_date IS NOT NULL
     ), announced AS (
       INSERT INTO content.film_announcement (film_id, message_id)
       SELECT id, gen_random_uuid() FROM film
       ON CONFLICT (film_id) DO NOTHING
       RETURNING film_id, message_id
     )
     INSERT INTO content.outbox (id, routing_key, payload, traceparent)
     SELECT a.message_id, $2,
            jsonb_build_object(
              'message_id', a.message_id,
              'event', $2::text,
              'film_id', film.id,
              'title', film.title,
              'release_date', film.creation_date::text,
              'genres', COALESCE((
                SELECT jsonb_agg(jsonb_build_object('id', g.id, 'name', g.name) ORDER BY g.name)
                  FROM content.genre_film_work gfw JOIN content.genre g ON g.id = gfw.genre_id
                 WHERE gfw.film_work_id = film.id), '[]'::jsonb),
              'occurred_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
            $3::text
       FROM announced a JOIN film ON film.id = a.film_id
     RETURNING id`,
    [filmId, FILM_PUBLISHED, currentTraceparent()],
  );
  return (res.rowCount ?? 0) > 0;
}
