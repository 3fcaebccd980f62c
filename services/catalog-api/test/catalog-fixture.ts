/**
 * A generated catalog written straight into Elasticsearch, in the indices and document shapes
 * catalog-etl writes (@cinema/catalog-index: its analysis, mappings and document types), and the ETL's signal to this service: the cache generation bumped
 * after each write. So these tests need no other service's code; the real ETL feeding this API is
 * tested across services in tests/catalog.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import type { Redis } from 'ioredis';
import {
  ANALYSIS,
  INDEX_NAMES,
  mappings,
  type FilmDocument,
  type GenreDocument,
  type PersonDocument,
  type Role,
} from '@cinema/catalog-index';
import { suffix } from '@cinema/testing';

export type { Role };

export interface Catalog {
  films: Array<{ id: string; title: string; rating: number; description: string }>;
  genres: Array<{ id: string; name: string }>;
  persons: Array<{ id: string; full_name: string }>;
  /** film id -> genre ids */
  filmGenres: Map<string, string[]>;
  /** film id -> [person id, role] */
  filmPersons: Map<string, Array<[string, Role]>>;
}

const WORDS = ['star', 'wars', 'galaxy', 'empire', 'return', 'night', 'river', 'shadow', 'crown'];
const NAMES = ['Anna', 'Boris', 'Clara', 'Dmitri', 'Elena', 'Fyodor', 'Greta', 'Hugo', 'Irina'];
const SURNAMES = ['Ivanova', 'Petrov', 'Smith', 'Kowalski', 'Rossi', 'Novak', 'Berg', 'Lund'];
const ROLES: Role[] = ['actor', 'director', 'writer'];

/** `films` films (the first ones titled `titles`), genres and persons, three people per film. */
export function generateCatalog(options: {
  films: number;
  genres: number;
  persons: number;
  titles?: string[];
}): Catalog {
  const genres = Array.from({ length: options.genres }, (_, i) => ({
    id: randomUUID(),
    name: `Genre ${i} ${suffix()}`,
  }));
  const persons = Array.from({ length: options.persons }, (_, i) => ({
    id: randomUUID(),
    full_name: `${NAMES[i % NAMES.length]} ${SURNAMES[(i * 7) % SURNAMES.length]} ${i}`,
  }));
  const films = Array.from({ length: options.films }, (_, i) => ({
    id: randomUUID(),
    title:
      options.titles?.[i] ?? `${WORDS[i % WORDS.length]} ${WORDS[(i * 3 + 1) % WORDS.length]} ${i}`,
    rating: Math.round(((i * 37) % 100) + 1) / 10,
    description: `A film about the ${WORDS[(i * 5 + 2) % WORDS.length]} number ${i}`,
  }));
  const filmGenres = new Map<string, string[]>();
  const filmPersons = new Map<string, Array<[string, Role]>>();
  films.forEach((f, i) => {
    const g = [genres[i % genres.length]!.id];
    if (genres.length > 1 && i % 2 === 0) g.push(genres[(i + 1) % genres.length]!.id);
    filmGenres.set(f.id, g);
    filmPersons.set(
      f.id,
      ROLES.map((role, k) => [persons[(i + k * 7) % persons.length]!.id, role]),
    );
  });
  return { films, genres, persons, filmGenres, filmPersons };
}

/** catalog-etl's indices (`ES_ANALYZER` at its default, `standard`). */
const MAPPINGS = mappings('standard');

/** The film document as catalog-etl writes it. */
function filmDocument(catalog: Catalog, film: Catalog['films'][number]): FilmDocument {
  const genres = new Map(catalog.genres.map((g) => [g.id, g.name]));
  const persons = new Map(catalog.persons.map((p) => [p.id, p.full_name]));
  const people = (catalog.filmPersons.get(film.id) ?? []).map(([id, role]) => ({
    id,
    full_name: persons.get(id)!,
    role,
  }));
  return {
    id: film.id,
    title: film.title,
    description: film.description,
    creation_date: '2000-01-01',
    rating: film.rating,
    type: 'movie',
    file_path: null,
    genres: (catalog.filmGenres.get(film.id) ?? []).map((id) => ({ id, name: genres.get(id)! })),
    persons: people,
    person_names: [...new Set(people.map((p) => p.full_name))],
    modified: new Date().toISOString(),
  };
}

/** A catalog in `<prefix>films`, `genres`, `persons`, the way catalog-etl leaves it. */
export class IndexedCatalog {
  constructor(
    private readonly es: Client,
    private readonly prefix: string,
    private readonly redis: Redis,
    private readonly generationKey: string,
    readonly catalog: Catalog,
  ) {}

  /** Creates the indices and writes every document (refreshed, so searchable at once). */
  async load(): Promise<void> {
    for (const name of INDEX_NAMES) {
      await this.es.indices.create({
        index: `${this.prefix}${name}`,
        settings: { analysis: ANALYSIS },
        mappings: MAPPINGS[name],
      });
    }
    const modified = new Date().toISOString();
    const operations = [
      ...this.catalog.genres.flatMap((g) => [
        { index: { _index: `${this.prefix}genres`, _id: g.id } },
        { id: g.id, name: g.name, description: null, modified } satisfies GenreDocument,
      ]),
      ...this.catalog.persons.flatMap((p) => [
        { index: { _index: `${this.prefix}persons`, _id: p.id } },
        { id: p.id, full_name: p.full_name, birth_date: null, modified } satisfies PersonDocument,
      ]),
      ...this.catalog.films.flatMap((f) => [
        { index: { _index: `${this.prefix}films`, _id: f.id } },
        filmDocument(this.catalog, f),
      ]),
    ];
    await this.bulk(operations);
  }

  /**
   * A film's new title, indexed as the ETL writes a change; then the generation is bumped as the
   * ETL does after its pass, unless `bump` is false (an index write the cache is not told about).
   */
  async retitleFilm(id: string, title: string, { bump = true } = {}): Promise<void> {
    const i = this.catalog.films.findIndex((f) => f.id === id);
    const film = { ...this.catalog.films[i]!, title };
    this.catalog.films[i] = film;
    await this.es.index({
      index: `${this.prefix}films`,
      id,
      document: filmDocument(this.catalog, film),
      refresh: true,
    });
    if (bump) await this.bumpGeneration();
  }

  /** A person's new name, in the person and in every film of theirs, as the ETL re-indexes. */
  async renamePerson(id: string, fullName: string): Promise<void> {
    const i = this.catalog.persons.findIndex((p) => p.id === id);
    this.catalog.persons[i] = { id, full_name: fullName };
    const films = this.catalog.films.filter((f) =>
      (this.catalog.filmPersons.get(f.id) ?? []).some(([p]) => p === id),
    );
    const modified = new Date().toISOString();
    await this.bulk([
      { index: { _index: `${this.prefix}persons`, _id: id } },
      { id, full_name: fullName, birth_date: null, modified } satisfies PersonDocument,
      ...films.flatMap((f) => [
        { index: { _index: `${this.prefix}films`, _id: f.id } },
        filmDocument(this.catalog, f),
      ]),
    ]);
  }

  /** A deleted film, gone from the index as the ETL applies a tombstone. */
  async deleteFilm(id: string): Promise<void> {
    await this.bulk([{ delete: { _index: `${this.prefix}films`, _id: id } }]);
  }

  private async bulk(operations: object[]): Promise<void> {
    const r = await this.es.bulk({ operations, refresh: true });
    if (r.errors) throw new Error('bulk indexing of the test catalog failed');
    await this.bumpGeneration();
  }

  /** What catalog-etl does after every pass that wrote: bump the cache generation. */
  async bumpGeneration(): Promise<void> {
    await this.redis.incr(this.generationKey);
  }

  async drop(): Promise<void> {
    await this.es.indices.delete({
      index: INDEX_NAMES.map((i) => `${this.prefix}${i}`),
      ignore_unavailable: true,
    });
  }
}
