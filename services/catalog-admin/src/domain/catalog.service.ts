/**
 * The catalog's use cases, shared by the admin panel (src/admin) and the movies API
 * (src/api/MoviesController): raw editor input in, typed values to the repository port, named
 * errors (@cinema/errors) out. Nothing here knows HTTP, HTML or PostgreSQL.
 */
import { ValidationError } from '@cinema/errors';
import {
  parseFilmInput,
  parseGenreInput,
  parsePageNumber,
  parsePersonInput,
  parseRole,
  parseSearch,
  type Film,
  type FilmDetail,
  type Genre,
  type Movie,
  type MoviesPage,
  type Page,
  type Person,
  type PersonDetail,
} from './catalog';
import type { CatalogRepository } from './ports';

/** Rows per page of the admin lists. */
export const LIST_PAGE_SIZE = 50;

/** A list request as it comes from a query string (anything; parsed here). */
export interface ListRequest {
  q?: unknown;
  page?: unknown;
}

/** One page of a list with the search text it was filtered by (trimmed, '' for none). */
export interface Listing<T> {
  q: string;
  page: Page<T>;
}

/** A film with the genres an editor may choose from to attach. */
export interface FilmEditor {
  film: FilmDetail;
  genres: Array<{ id: string; name: string }>;
}

type Raw = Record<string, unknown>;

export class CatalogService {
  constructor(
    private readonly repository: CatalogRepository,
    private readonly pageSize = LIST_PAGE_SIZE,
  ) {}

  private async list<T>(
    request: ListRequest,
    load: (query: { q: string; page: number; pageSize: number }) => Promise<Page<T>>,
  ): Promise<Listing<T>> {
    const q = parseSearch(request.q);
    const page = await load({ q, page: parsePageNumber(request.page), pageSize: this.pageSize });
    return { q, page };
  }

  /* Films */

  listFilms(request: ListRequest): Promise<Listing<Film>> {
    return this.list(request, (query) => this.repository.listFilms(query));
  }

  film(id: string): Promise<FilmDetail> {
    return this.repository.getFilm(id);
  }

  /** The film (NotFoundError first when it is missing) and every genre. */
  async filmEditor(id: string): Promise<FilmEditor> {
    const film = await this.repository.getFilm(id);
    const genres = await this.repository.allGenres();
    return { film, genres };
  }

  async createFilm(raw: Raw): Promise<string> {
    return this.repository.createFilm(parseFilmInput(raw));
  }

  async updateFilm(id: string, raw: Raw): Promise<void> {
    await this.repository.updateFilm(id, parseFilmInput(raw));
  }

  deleteFilm(id: string): Promise<void> {
    return this.repository.deleteFilm(id);
  }

  attachGenre(filmId: string, genreId: string): Promise<void> {
    return this.repository.addGenreToFilm(filmId, genreId);
  }

  detachGenre(filmId: string, genreId: string): Promise<void> {
    return this.repository.removeGenreFromFilm(filmId, genreId);
  }

  /**
   * Attaches the one person named `person` (or whose id it is) in `role`. No such person, or
   * several of that name, is the editor's to resolve: a ValidationError saying which.
   */
  async attachPerson(filmId: string, person: string, role: unknown): Promise<void> {
    const parsedRole = parseRole(role);
    const text = person.trim().slice(0, 300);
    if (!text) throw new ValidationError("enter a person's full name or id");
    const found = await this.repository.findPersons(text);
    if (!found.length) {
      throw new ValidationError(`no person named "${text}"; create the person first`);
    }
    if (found.length > 1) {
      throw new ValidationError(
        `${found.length} persons are named "${text}"; enter the id of the one you mean (${found
          .map((p) => p.id)
          .join(', ')})`,
      );
    }
    await this.repository.addPersonToFilm(filmId, found[0]!.id, parsedRole);
  }

  detachPerson(filmId: string, linkId: string): Promise<void> {
    return this.repository.removePersonLink(filmId, linkId);
  }

  /* Genres */

  listGenres(request: ListRequest): Promise<Listing<Genre & { films: number }>> {
    return this.list(request, (query) => this.repository.listGenres(query));
  }

  genre(id: string): Promise<Genre> {
    return this.repository.getGenre(id);
  }

  async createGenre(raw: Raw): Promise<string> {
    return this.repository.createGenre(parseGenreInput(raw));
  }

  async updateGenre(id: string, raw: Raw): Promise<void> {
    await this.repository.updateGenre(id, parseGenreInput(raw));
  }

  deleteGenre(id: string): Promise<void> {
    return this.repository.deleteGenre(id);
  }

  /* Persons */

  listPersons(request: ListRequest): Promise<Listing<Person & { films: number }>> {
    return this.list(request, (query) => this.repository.listPersons(query));
  }

  person(id: string): Promise<PersonDetail> {
    return this.repository.getPerson(id);
  }

  async createPerson(raw: Raw): Promise<string> {
    return this.repository.createPerson(parsePersonInput(raw));
  }

  async updatePerson(id: string, raw: Raw): Promise<void> {
    await this.repository.updatePerson(id, parsePersonInput(raw));
  }

  deletePerson(id: string): Promise<void> {
    return this.repository.deletePerson(id);
  }

  /* Movies API */

  /** Films by title, a page at a time (bounds are checked by the API's validation). */
  async moviesPage(page: number, pageSize: number): Promise<MoviesPage> {
    const { total, rows } = await this.repository.moviesPage(page, pageSize);
    const totalPages = Math.ceil(total / pageSize);
    return {
      count: total,
      total_pages: totalPages,
      page,
      page_size: pageSize,
      prev: page > 1 ? Math.min(page - 1, Math.max(totalPages, 1)) : null,
      next: page < totalPages ? page + 1 : null,
      results: rows,
    };
  }

  movie(id: string): Promise<Movie> {
    return this.repository.movie(id);
  }
}
