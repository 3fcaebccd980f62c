/**
 * The catalog's read use cases: what the API answers, with the cache in front of the search
 * index. No driver imports: the index and the cache are ports.
 */
import { NotFoundError, ValidationError } from '@cinema/errors';

/**
 * A UUID.
 * @pattern ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$
 * @example "3d8d9bf5-0d90-4353-88ba-4ccc5d2c07ff"
 */
export type Uuid = string;

export type Role = 'actor' | 'director' | 'writer';

/** `-rating`: best rated first; `rating`: lowest first. */
export type FilmSort = '-rating' | 'rating';

export interface FilmShort {
  id: Uuid;
  title: string;
  rating: number | null;
}

export interface GenreRef {
  id: Uuid;
  name: string;
}

export interface PersonRef {
  id: Uuid;
  full_name: string;
}

export interface Film {
  id: Uuid;
  title: string;
  description: string | null;
  /** ISO date */
  creation_date: string | null;
  rating: number | null;
  type: string;
  genres: GenreRef[];
  actors: PersonRef[];
  directors: PersonRef[];
  writers: PersonRef[];
}

export interface Genre {
  id: Uuid;
  name: string;
  description: string | null;
}

export interface PersonFilm {
  id: Uuid;
  title: string;
  rating: number | null;
  roles: Role[];
}

export interface Person {
  id: Uuid;
  full_name: string;
  films: PersonFilm[];
}

export interface Page<T> {
  items: T[];
  page_number: number;
  page_size: number;
  /** Matching items in all pages. */
  total: number;
}

/** Films whose title starts with what was typed, for a search box. */
export interface FilmSuggestions {
  items: FilmShort[];
}

export interface PageRequest {
  pageNumber: number;
  pageSize: number;
}

/** Elasticsearch's default `index.max_result_window`: no page may reach beyond it. */
export const MAX_RESULT_WINDOW = 10_000;

export interface CatalogSearch {
  films(q: PageRequest & { sort: FilmSort; genre?: string }): Promise<Page<FilmShort>>;
  film(id: string): Promise<Film | null>;
  searchFilms(q: PageRequest & { query: string }): Promise<Page<FilmShort>>;
  suggestFilms(q: { prefix: string; size: number }): Promise<FilmShort[]>;
  genres(q: PageRequest): Promise<Page<Genre>>;
  genre(id: string): Promise<Genre | null>;
  person(id: string): Promise<Person | null>;
  personFilms(id: string): Promise<FilmShort[] | null>;
  searchPersons(q: PageRequest & { query: string }): Promise<Page<Person>>;
}

export interface AnswerCache {
  /** The cached answer of `name(params)`, else computes, stores and returns it. */
  through<T>(name: string, params: object, compute: () => Promise<T>): Promise<T>;
}

export class CatalogService {
  constructor(
    private readonly search: CatalogSearch,
    private readonly cache: AnswerCache,
  ) {}

  async films(q: PageRequest & { sort: FilmSort; genre?: string }): Promise<Page<FilmShort>> {
    checkWindow(q);
    return this.cache.through('films', q, () => this.search.films(q));
  }

  async film(id: string): Promise<Film> {
    return found(await this.cache.through('film', { id }, () => this.search.film(id)), 'film', id);
  }

  async searchFilms(q: PageRequest & { query: string }): Promise<Page<FilmShort>> {
    checkWindow(q);
    return this.cache.through('film-search', q, () => this.search.searchFilms(q));
  }

  async suggestFilms(q: { prefix: string; size: number }): Promise<FilmSuggestions> {
    if (!q.prefix.trim()) {
      throw new ValidationError('the prefix must not be blank', {
        prefix: { message: 'must contain a character other than white space', value: q.prefix },
      });
    }
    return this.cache.through('film-suggest', q, async () => ({
      items: await this.search.suggestFilms(q),
    }));
  }

  async genres(q: PageRequest): Promise<Page<Genre>> {
    checkWindow(q);
    return this.cache.through('genres', q, () => this.search.genres(q));
  }

  async genre(id: string): Promise<Genre> {
    return found(
      await this.cache.through('genre', { id }, () => this.search.genre(id)),
      'genre',
      id,
    );
  }

  async person(id: string): Promise<Person> {
    return found(
      await this.cache.through('person', { id }, () => this.search.person(id)),
      'person',
      id,
    );
  }

  async personFilms(id: string): Promise<FilmShort[]> {
    return found(
      await this.cache.through('person-films', { id }, () => this.search.personFilms(id)),
      'person',
      id,
    );
  }

  async searchPersons(q: PageRequest & { query: string }): Promise<Page<Person>> {
    checkWindow(q);
    return this.cache.through('person-search', q, () => this.search.searchPersons(q));
  }
}

function found<T>(value: T | null, what: string, id: string): T {
  if (value === null || value === undefined) throw new NotFoundError(`no ${what} with id ${id}`);
  return value;
}

function checkWindow(q: PageRequest): void {
  if (q.pageNumber * q.pageSize > MAX_RESULT_WINDOW) {
    throw new ValidationError(`page_number × page_size must not exceed ${MAX_RESULT_WINDOW}`, {
      page_number: {
        message: `at most ${Math.floor(MAX_RESULT_WINDOW / q.pageSize)} with page_size ${q.pageSize}`,
        value: q.pageNumber,
      },
    });
  }
}

/** Splits a film's people by role. */
export function byRole(
  persons: Array<{ id: string; full_name: string; role: Role }>,
): Pick<Film, 'actors' | 'directors' | 'writers'> {
  const pick = (role: Role) =>
    persons.filter((p) => p.role === role).map((p) => ({ id: p.id, full_name: p.full_name }));
  return { actors: pick('actor'), directors: pick('director'), writers: pick('writer') };
}
