/**
 * What the catalog's use cases need from storage; implemented in src/adapters (PostgreSQL,
 * schema `content`). Unknown or malformed ids throw NotFoundError, duplicates ConflictError,
 * an unreachable database ServiceUnavailableError (all from @cinema/errors).
 */
import type {
  Film,
  FilmDetail,
  FilmInput,
  Genre,
  GenreInput,
  ListQuery,
  Movie,
  Page,
  Person,
  PersonDetail,
  PersonInput,
  PersonRole,
} from './catalog';

export interface CatalogRepository {
  /* Films */
  listFilms(query: ListQuery): Promise<Page<Film>>;
  getFilm(id: string): Promise<FilmDetail>;
  createFilm(input: FilmInput): Promise<string>;
  /** Writes (and so moves `modified`) only when something changed. */
  updateFilm(id: string, input: FilmInput): Promise<void>;
  deleteFilm(id: string): Promise<void>;
  addGenreToFilm(filmId: string, genreId: string): Promise<void>;
  removeGenreFromFilm(filmId: string, genreId: string): Promise<void>;
  addPersonToFilm(filmId: string, personId: string, role: PersonRole): Promise<void>;
  removePersonLink(filmId: string, linkId: string): Promise<void>;

  /* Genres */
  listGenres(query: ListQuery): Promise<Page<Genre & { films: number }>>;
  allGenres(): Promise<Array<{ id: string; name: string }>>;
  getGenre(id: string): Promise<Genre>;
  createGenre(input: GenreInput): Promise<string>;
  updateGenre(id: string, input: GenreInput): Promise<void>;
  deleteGenre(id: string): Promise<void>;

  /* Persons */
  listPersons(query: ListQuery): Promise<Page<Person & { films: number }>>;
  getPerson(id: string): Promise<PersonDetail>;
  /** Persons whose id is `text`, or whose name is `text` (case-insensitive), at most 10. */
  findPersons(text: string): Promise<Array<{ id: string; fullName: string }>>;
  createPerson(input: PersonInput): Promise<string>;
  updatePerson(id: string, input: PersonInput): Promise<void>;
  deletePerson(id: string): Promise<void>;

  /* Movies API */
  moviesPage(page: number, pageSize: number): Promise<{ total: number; rows: Movie[] }>;
  movie(id: string): Promise<Movie>;
}
