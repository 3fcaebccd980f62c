/**
 * Schema `content` in PostgreSQL: films, genres, persons and their links. Driver errors that are
 * the caller's fault (duplicate name, unknown id, broken constraint) become named errors here, a
 * database outage becomes ServiceUnavailableError; nothing reaches the client as a 500.
 */
import { randomUUID } from 'node:crypto';
import {
  ConflictError,
  NotFoundError,
  ServiceUnavailableError,
  ValidationError,
} from '@cinema/errors';
import type { Pool, PoolClient } from '@cinema/pg';
import {
  isUuid,
  type Film,
  type FilmDetail,
  type FilmInput,
  type Genre,
  type GenreInput,
  type ListQuery,
  type Movie,
  type Page,
  type Person,
  type PersonDetail,
  type PersonInput,
  type PersonRole,
} from '../domain/catalog';
import type { CatalogRepository } from '../domain/ports';
import { announceFilmIfDated } from './film-events.outbox';

interface PgError {
  code?: string;
  constraint?: string;
  detail?: string;
}

const CONSTRAINT_MESSAGES: Record<string, string> = {
  genre_name_key: 'a genre with this name already exists',
  genre_film_work_unique: 'the film already has this genre',
  person_film_work_unique: 'the person already has this role in the film',
};

export function mapDbError(err: unknown): never {
  const e = err as PgError & { message?: string };
  switch (e.code) {
    case '23505':
      throw new ConflictError(
        CONSTRAINT_MESSAGES[e.constraint ?? ''] ?? `duplicate value (${e.constraint})`,
      );
    case '23503':
      throw new NotFoundError('a referenced film, genre or person does not exist');
    case '23514':
    case '23502':
    case '22001':
    case '22003':
    case '22007':
    case '22008':
    case '22P02':
      throw new ValidationError(`rejected by the database: ${e.message ?? e.code}`);
    case '57P01':
    case '57P03':
    case '53300':
      throw new ServiceUnavailableError('the catalog database is unavailable');
  }
  if (
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|timeout exceeded when trying to connect|Connection terminated/.test(
      e.message ?? '',
    )
  ) {
    throw new ServiceUnavailableError('the catalog database is unavailable');
  }
  throw err;
}

const FILM_COLUMNS = `f.id, f.title, f.description, f.creation_date::text AS "creationDate",
  f.rating, f.type, f.certificate, f.file_path AS "filePath",
  f.created::text AS created, f.modified::text AS modified`;

const like = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const MOVIE_SELECT = `
  SELECT f.id, f.title, f.description, f.creation_date::text AS creation_date, f.rating, f.type,
    COALESCE((SELECT json_agg(json_build_object('id', g.id, 'name', g.name) ORDER BY g.name)
                FROM content.genre_film_work gfw JOIN content.genre g ON g.id = gfw.genre_id
               WHERE gfw.film_work_id = f.id), '[]') AS genres,
    ${['actor', 'director', 'writer']
      .map(
        (role) => `COALESCE((SELECT json_agg(json_build_object('id', p.id, 'full_name', p.full_name)
                ORDER BY p.full_name, p.id)
                FROM content.person_film_work pfw JOIN content.person p ON p.id = pfw.person_id
               WHERE pfw.film_work_id = f.id AND pfw.role = '${role}'), '[]') AS ${role}s`,
      )
      .join(',\n    ')}
  FROM content.film_work f`;

export interface CatalogRepositoryOptions {
  /** Called after a commit that wrote events to the outbox (wakes the outbox publisher). */
  onEvents?: () => void;
}

export class PgCatalogRepository implements CatalogRepository {
  constructor(
    private readonly pool: Pool,
    private readonly options: CatalogRepositoryOptions = {},
  ) {}

  /**
   * Runs `work` in one transaction (the catalog write and its outbox events commit together);
   * driver errors are mapped like every query's.
   */
  private async transaction<T>(
    work: (client: PoolClient) => Promise<{ result: T; events: boolean }>,
  ): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      mapDbError(err);
    }
    try {
      await client.query('BEGIN');
      const { result, events } = await work(client);
      await client.query('COMMIT');
      if (events) this.options.onEvents?.();
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      mapDbError(err);
    } finally {
      client.release();
    }
  }

  private async query<R extends object>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (err) {
      mapDbError(err);
    }
  }

  private async one<R extends object>(sql: string, params: unknown[], what: string): Promise<R> {
    const [row] = await this.query<R>(sql, params);
    if (!row) throw new NotFoundError(`${what} not found`);
    return row;
  }

  /** Runs a statement that must touch a row (`RETURNING id`); none means `notFound`. */
  private async touch(sql: string, params: unknown[], notFound: string): Promise<void> {
    if (!(await this.query(sql, params)).length) throw new NotFoundError(notFound);
  }

  /**
   * One page of `from` ordered by `nameColumn` (case-insensitive, then id), optionally filtered
   * by `nameColumn ILIKE %q%`, with the total; a page past the end still reports the total.
   */
  private async listPage<R extends object>(
    o: { select: string; from: string; alias: string; nameColumn: string },
    { q, page, pageSize }: ListQuery,
  ): Promise<Page<R>> {
    const rows = await this.query<R & { total: string }>(
      `SELECT ${o.select}, count(*) OVER () AS total FROM ${o.from}
        ${q ? `WHERE ${o.nameColumn} ILIKE $3` : ''}
        ORDER BY lower(${o.nameColumn}), ${o.alias}.id LIMIT $1 OFFSET $2`,
      [pageSize, (page - 1) * pageSize, ...(q ? [like(q)] : [])],
    );
    let total = rows.length ? Number(rows[0]!.total) : 0;
    if (!rows.length && page > 1) {
      const [c] = await this.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${o.from} ${q ? `WHERE ${o.nameColumn} ILIKE $1` : ''}`,
        q ? [like(q)] : [],
      );
      total = Number(c!.n);
    }
    return {
      items: rows.map(({ total: _t, ...item }) => item as unknown as R),
      total,
      page,
      pageSize,
    };
  }

  private static id(id: string, what: string): string {
    if (!isUuid(id)) throw new NotFoundError(`${what} not found`);
    return id.toLowerCase();
  }

  /* Films */

  async listFilms(query: ListQuery): Promise<Page<Film>> {
    return this.listPage<Film>(
      { select: FILM_COLUMNS, from: 'content.film_work f', alias: 'f', nameColumn: 'f.title' },
      query,
    );
  }

  async getFilm(id: string): Promise<FilmDetail> {
    const filmId = PgCatalogRepository.id(id, 'film');
    const film = await this.one<Film>(
      `SELECT ${FILM_COLUMNS} FROM content.film_work f WHERE f.id = $1`,
      [filmId],
      'film',
    );
    const genres = await this.query<{ genreId: string; name: string }>(
      `SELECT g.id AS "genreId", g.name FROM content.genre_film_work gfw
         JOIN content.genre g ON g.id = gfw.genre_id WHERE gfw.film_work_id = $1 ORDER BY g.name`,
      [filmId],
    );
    const persons = await this.query<{
      linkId: string;
      personId: string;
      fullName: string;
      role: PersonRole;
    }>(
      `SELECT pfw.id AS "linkId", p.id AS "personId", p.full_name AS "fullName", pfw.role
         FROM content.person_film_work pfw JOIN content.person p ON p.id = pfw.person_id
        WHERE pfw.film_work_id = $1 ORDER BY pfw.role, p.full_name`,
      [filmId],
    );
    return { ...film, genres, persons };
  }

  /** The film, and its `film.published` event when it has a release date, in one transaction. */
  async createFilm(input: FilmInput): Promise<string> {
    const id = randomUUID();
    return this.transaction(async (client) => {
      await client.query(
        `INSERT INTO content.film_work
           (id, title, description, creation_date, rating, type, certificate, file_path)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          id,
          input.title,
          input.description,
          input.creationDate,
          input.rating,
          input.type,
          input.certificate,
          input.filePath,
        ],
      );
      return { result: id, events: await announceFilmIfDated(client, id) };
    });
  }

  /**
   * The change, and `film.published` when the film is first given a release date, in one
   * transaction.
   */
  async updateFilm(id: string, input: FilmInput): Promise<void> {
    const filmId = PgCatalogRepository.id(id, 'film');
    const changed = await this.transaction(async (client) => {
      // Only a real change writes (and so moves `modified`, which the ETL follows).
      const { rows } = await client.query(
        `UPDATE content.film_work SET title = $2, description = $3, creation_date = $4, rating = $5,
                type = $6, certificate = $7, file_path = $8
          WHERE id = $1
            AND (title, description, creation_date, rating, type, certificate, file_path)
                IS DISTINCT FROM ($2, $3, $4::date, $5::double precision, $6, $7, $8)
          RETURNING id`,
        [
          filmId,
          input.title,
          input.description,
          input.creationDate,
          input.rating,
          input.type,
          input.certificate,
          input.filePath,
        ],
      );
      const events = rows.length > 0 && (await announceFilmIfDated(client, filmId));
      return { result: rows.length > 0, events };
    });
    if (!changed) await this.getFilm(filmId); // unchanged, or not found
  }

  async deleteFilm(id: string): Promise<void> {
    await this.touch(
      `DELETE FROM content.film_work WHERE id = $1 RETURNING id`,
      [PgCatalogRepository.id(id, 'film')],
      'film not found',
    );
  }

  async addGenreToFilm(filmId: string, genreId: string): Promise<void> {
    await this.query(
      `INSERT INTO content.genre_film_work (id, film_work_id, genre_id) VALUES ($1, $2, $3)`,
      [
        randomUUID(),
        PgCatalogRepository.id(filmId, 'film'),
        PgCatalogRepository.id(genreId, 'genre'),
      ],
    );
  }

  async removeGenreFromFilm(filmId: string, genreId: string): Promise<void> {
    await this.touch(
      `DELETE FROM content.genre_film_work WHERE film_work_id = $1 AND genre_id = $2 RETURNING id`,
      [PgCatalogRepository.id(filmId, 'film'), PgCatalogRepository.id(genreId, 'genre')],
      'the film does not have this genre',
    );
  }

  async addPersonToFilm(filmId: string, personId: string, role: PersonRole): Promise<void> {
    await this.query(
      `INSERT INTO content.person_film_work (id, film_work_id, person_id, role)
       VALUES ($1, $2, $3, $4)`,
      [
        randomUUID(),
        PgCatalogRepository.id(filmId, 'film'),
        PgCatalogRepository.id(personId, 'person'),
        role,
      ],
    );
  }

  async removePersonLink(filmId: string, linkId: string): Promise<void> {
    await this.touch(
      `DELETE FROM content.person_film_work WHERE film_work_id = $1 AND id = $2 RETURNING id`,
      [PgCatalogRepository.id(filmId, 'film'), PgCatalogRepository.id(linkId, 'link')],
      'link not found',
    );
  }

  /* Genres */

  async listGenres(query: ListQuery): Promise<Page<Genre & { films: number }>> {
    return this.listPage<Genre & { films: number }>(
      {
        select: `g.id, g.name, g.description, g.created::text AS created,
                 g.modified::text AS modified,
                 (SELECT count(*)::int FROM content.genre_film_work x WHERE x.genre_id = g.id) AS films`,
        from: 'content.genre g',
        alias: 'g',
        nameColumn: 'g.name',
      },
      query,
    );
  }

  async allGenres(): Promise<Array<{ id: string; name: string }>> {
    return this.query(`SELECT id, name FROM content.genre ORDER BY lower(name)`);
  }

  async getGenre(id: string): Promise<Genre> {
    return this.one<Genre>(
      `SELECT id, name, description, created::text AS created, modified::text AS modified
         FROM content.genre WHERE id = $1`,
      [PgCatalogRepository.id(id, 'genre')],
      'genre',
    );
  }

  async createGenre(input: GenreInput): Promise<string> {
    const id = randomUUID();
    await this.query(`INSERT INTO content.genre (id, name, description) VALUES ($1, $2, $3)`, [
      id,
      input.name,
      input.description,
    ]);
    return id;
  }

  async updateGenre(id: string, input: GenreInput): Promise<void> {
    await this.touch(
      `UPDATE content.genre SET name = $2, description = $3 WHERE id = $1 RETURNING id`,
      [PgCatalogRepository.id(id, 'genre'), input.name, input.description],
      'genre not found',
    );
  }

  async deleteGenre(id: string): Promise<void> {
    await this.touch(
      `DELETE FROM content.genre WHERE id = $1 RETURNING id`,
      [PgCatalogRepository.id(id, 'genre')],
      'genre not found',
    );
  }

  /* Persons */

  async listPersons(query: ListQuery): Promise<Page<Person & { films: number }>> {
    return this.listPage<Person & { films: number }>(
      {
        select: `p.id, p.full_name AS "fullName", p.birth_date::text AS "birthDate",
                 p.created::text AS created, p.modified::text AS modified,
                 (SELECT count(DISTINCT x.film_work_id)::int FROM content.person_film_work x
                   WHERE x.person_id = p.id) AS films`,
        from: 'content.person p',
        alias: 'p',
        nameColumn: 'p.full_name',
      },
      query,
    );
  }

  async getPerson(id: string): Promise<PersonDetail> {
    const personId = PgCatalogRepository.id(id, 'person');
    const person = await this.one<Person>(
      `SELECT id, full_name AS "fullName", birth_date::text AS "birthDate",
              created::text AS created, modified::text AS modified
         FROM content.person WHERE id = $1`,
      [personId],
      'person',
    );
    const films = await this.query<{ filmId: string; title: string; role: PersonRole }>(
      `SELECT f.id AS "filmId", f.title, pfw.role FROM content.person_film_work pfw
         JOIN content.film_work f ON f.id = pfw.film_work_id
        WHERE pfw.person_id = $1 ORDER BY lower(f.title), pfw.role`,
      [personId],
    );
    return { ...person, films };
  }

  /** Persons whose id is `text`, or whose name is `text` (case-insensitive), at most 10. */
  async findPersons(text: string): Promise<Array<{ id: string; fullName: string }>> {
    if (isUuid(text)) {
      return this.query(`SELECT id, full_name AS "fullName" FROM content.person WHERE id = $1`, [
        text.toLowerCase(),
      ]);
    }
    return this.query(
      `SELECT id, full_name AS "fullName" FROM content.person
        WHERE lower(full_name) = lower($1) ORDER BY id LIMIT 10`,
      [text],
    );
  }

  async createPerson(input: PersonInput): Promise<string> {
    const id = randomUUID();
    await this.query(`INSERT INTO content.person (id, full_name, birth_date) VALUES ($1, $2, $3)`, [
      id,
      input.fullName,
      input.birthDate,
    ]);
    return id;
  }

  async updatePerson(id: string, input: PersonInput): Promise<void> {
    await this.touch(
      `UPDATE content.person SET full_name = $2, birth_date = $3 WHERE id = $1 RETURNING id`,
      [PgCatalogRepository.id(id, 'person'), input.fullName, input.birthDate],
      'person not found',
    );
  }

  async deletePerson(id: string): Promise<void> {
    await this.touch(
      `DELETE FROM content.person WHERE id = $1 RETURNING id`,
      [PgCatalogRepository.id(id, 'person')],
      'person not found',
    );
  }

  /* Movies API */

  async moviesPage(page: number, pageSize: number): Promise<{ total: number; rows: Movie[] }> {
    const [count] = await this.query<{ n: string }>(`SELECT count(*) AS n FROM content.film_work`);
    const rows = await this.query<Movie>(
      `${MOVIE_SELECT} ORDER BY lower(f.title), f.id LIMIT $1 OFFSET $2`,
      [pageSize, (page - 1) * pageSize],
    );
    return { total: Number(count!.n), rows };
  }

  async movie(id: string): Promise<Movie> {
    return this.one<Movie>(
      `${MOVIE_SELECT} WHERE f.id = $1`,
      [PgCatalogRepository.id(id, 'film')],
      'film',
    );
  }
}
