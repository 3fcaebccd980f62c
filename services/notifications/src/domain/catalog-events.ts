/**
 * catalog-admin's `film.published` (docs/contracts.md, exchange `catalog.events`): a "new film"
 * announcement to every user who follows one of the film's genres, by e-mail and in-app (each
 * still subject to the user's `new_films` preferences), once per (message id, channel, user).
 */
import { ValidationError } from '@cinema/errors';
import type { NotifyRequest } from './notifier';

export const CATALOG_ROUTING_KEYS = ['film.published'] as const;

export interface FilmPublished {
  filmId: string;
  title: string;
  releaseDate: string;
  genres: Array<{ id: string; name: string }>;
}

/** The users following any of these genres (by catalog id or, case-insensitively, by name). */
export interface GenreFollowers {
  /** One page of user ids (ascending), after `afterUserId`; deleted recipients excluded. */
  followers(
    genres: Array<{ id: string; name: string }>,
    afterUserId: string | null,
    limit: number,
  ): Promise<string[]>;
}

export interface Notify {
  notify(request: NotifyRequest): Promise<unknown>;
}

export interface CatalogEvent {
  messageId: string;
  routingKey: string;
  payload: unknown;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Checks a `film.published` payload; ValidationError (the message goes to the DLQ) otherwise. */
export function parseFilmPublished(payload: unknown): FilmPublished {
  const p = (payload ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof p.film_id !== 'string' || !UUID.test(p.film_id)) problems.push('film_id: a UUID');
  if (typeof p.title !== 'string' || !p.title.trim() || p.title.length > 500)
    problems.push('title: 1 to 500 characters');
  if (typeof p.release_date !== 'string' || !DATE.test(p.release_date))
    problems.push('release_date: YYYY-MM-DD');
  const genres = Array.isArray(p.genres) ? p.genres : null;
  if (
    !genres ||
    genres.length > 100 ||
    genres.some(
      (g) =>
        typeof g !== 'object' ||
        g === null ||
        typeof (g as { id?: unknown }).id !== 'string' ||
        !UUID.test((g as { id: string }).id) ||
        typeof (g as { name?: unknown }).name !== 'string' ||
        !(g as { name: string }).name.trim(),
    )
  ) {
    problems.push('genres: at most 100 of { id: UUID, name }');
  }
  if (problems.length)
    throw new ValidationError(`malformed film.published: ${problems.join('; ')}`);
  return {
    filmId: (p.film_id as string).toLowerCase(),
    title: (p.title as string).trim(),
    releaseDate: p.release_date as string,
    genres: (genres as Array<{ id: string; name: string }>).map((g) => ({
      id: g.id.toLowerCase(),
      name: g.name.trim(),
    })),
  };
}

export interface CatalogEventsOptions {
  followers: GenreFollowers;
  notifier: Notify;
  /** Link to a film (e.g. the player): `film_url` of the templates. */
  filmUrl: (filmId: string) => string;
  /** Followers planned per page, and notifier calls in flight. */
  pageSize?: number;
  concurrency?: number;
}

export class CatalogEventsHandler {
  constructor(private readonly o: CatalogEventsOptions) {}

  /** Announces the film; answers how many followers it was planned for. */
  async handle(event: CatalogEvent): Promise<number> {
    if (event.routingKey !== 'film.published') return 0; // not ours (a binding added later)
    const film = parseFilmPublished(event.payload);
    if (!film.genres.length) return 0; // nobody can follow a film without a genre
    const vars = {
      film_id: film.filmId,
      title: film.title,
      release_date: film.releaseDate,
      genres: film.genres.map((g) => g.name).join(', '),
      film_url: this.o.filmUrl(film.filmId),
    };
    const pageSize = this.o.pageSize ?? 500;
    const concurrency = this.o.concurrency ?? 8;
    let after: string | null = null;
    let planned = 0;
    for (;;) {
      const page = await this.o.followers.followers(film.genres, after, pageSize);
      for (let i = 0; i < page.length; i += concurrency) {
        await Promise.all(
          page.slice(i, i + concurrency).map((userId) =>
            this.o.notifier.notify({
              // Idempotent on (message id, channel, user): a redelivery plans nothing twice.
              messageId: event.messageId,
              userId,
              category: 'new_films',
              template: 'new_film',
              vars,
              channels: ['email', 'in_app'],
            }),
          ),
        );
      }
      planned += page.length;
      if (page.length < pageSize) return planned;
      after = page[page.length - 1]!;
    }
  }
}
