/**
 * Reads the indices catalog-etl writes. Outages of Elasticsearch become 503 (never a 500), a
 * missing index an empty answer (the ETL has not run yet).
 */
import { Client, errors, type estypes } from '@elastic/elasticsearch';
import type { FilmDocument, GenreDocument, PersonDocument } from '@cinema/catalog-index';
import { ServiceUnavailableError } from '@cinema/errors';
import {
  byRole,
  type CatalogSearch,
  type Film,
  type FilmShort,
  type FilmSort,
  type Genre,
  type Page,
  type PageRequest,
  type Person,
  type PersonFilm,
  type Role,
} from '../domain/catalog';

/** The parts of catalog-etl's documents (@cinema/catalog-index) this service reads. */
type FilmSource = Omit<FilmDocument, 'file_path' | 'person_names' | 'modified'>;
type GenreSource = Omit<GenreDocument, 'modified'>;
type PersonSource = Pick<PersonDocument, 'id' | 'full_name'>;

const SHORT = ['id', 'title', 'rating'];
/** Films of one person returned at most (a person's filmography). */
const MAX_PERSON_FILMS = 1000;

export class SearchRepository implements CatalogSearch {
  constructor(
    private readonly client: Client,
    private readonly prefix: string,
  ) {}

  private index(name: 'films' | 'genres' | 'persons'): string {
    return `${this.prefix}${name}`;
  }

  async films(q: PageRequest & { sort: FilmSort; genre?: string }): Promise<Page<FilmShort>> {
    const query: estypes.QueryDslQueryContainer = q.genre
      ? { nested: { path: 'genres', query: { term: { 'genres.id': q.genre } } } }
      : { match_all: {} };
    return this.page<FilmSource, FilmShort>(
      'films',
      q,
      {
        query,
        sort: [
          { rating: { order: q.sort === 'rating' ? 'asc' : 'desc', missing: '_last' } },
          { id: 'asc' },
        ],
        _source: SHORT,
      },
      short,
    );
  }

  async film(id: string): Promise<Film | null> {
    const doc = await this.get<FilmSource>('films', id);
    if (!doc) return null;
    return {
      id: doc.id,
      title: doc.title,
      description: doc.description,
      creation_date: doc.creation_date,
      rating: doc.rating,
      type: doc.type,
      genres: doc.genres,
      ...byRole(doc.persons),
    };
  }

  async searchFilms(q: PageRequest & { query: string }): Promise<Page<FilmShort>> {
    return this.page<FilmSource, FilmShort>(
      'films',
      q,
      { query: filmSearchQuery(q.query), sort: ['_score', { id: 'asc' }], _source: SHORT },
      short,
    );
  }

  /**
   * Titles that start with the prefix (the completion field `title.suggest`). Indices created
   * before that field existed answer no suggestions (until the ETL recreates them), not an error.
   */
  async suggestFilms(q: { prefix: string; size: number }): Promise<FilmShort[]> {
    let r: estypes.SearchResponse<FilmSource> | null;
    try {
      r = await this.call(
        () =>
          this.client.search<FilmSource>({
            index: this.index('films'),
            _source: SHORT,
            suggest: {
              title: { prefix: q.prefix, completion: { field: 'title.suggest', size: q.size } },
            },
          }),
        null,
      );
    } catch (err) {
      if (
        err instanceof errors.ResponseError &&
        err.statusCode === 400 &&
        /no mapping found for field|is not a completion suggest field/.test(
          JSON.stringify(err.body ?? ''),
        )
      ) {
        return [];
      }
      throw err;
    }
    const options = r?.suggest?.title?.[0]?.options;
    if (!Array.isArray(options)) return [];
    return options.map((o) =>
      short((o as estypes.SearchCompletionSuggestOption<FilmSource>)._source!),
    );
  }

  async genres(q: PageRequest): Promise<Page<Genre>> {
    return this.page<GenreSource, Genre>(
      'genres',
      q,
      { query: { match_all: {} }, sort: [{ name: 'asc' }, { id: 'asc' }] },
      (g) => ({ id: g.id, name: g.name, description: g.description ?? null }),
    );
  }

  async genre(id: string): Promise<Genre | null> {
    const g = await this.get<GenreSource>('genres', id);
    return g ? { id: g.id, name: g.name, description: g.description ?? null } : null;
  }

  async person(id: string): Promise<Person | null> {
    const p = await this.get<PersonSource>('persons', id);
    if (!p) return null;
    return { id: p.id, full_name: p.full_name, films: await this.filmsOf(p.id) };
  }

  async personFilms(id: string): Promise<FilmShort[] | null> {
    const p = await this.get<PersonSource>('persons', id);
    if (!p) return null;
    return (await this.filmsOf(id)).map(({ id: filmId, title, rating }) => ({
      id: filmId,
      title,
      rating,
    }));
  }

  async searchPersons(q: PageRequest & { query: string }): Promise<Page<Person>> {
    const page = await this.page<PersonSource, PersonSource>(
      'persons',
      q,
      {
        query: personSearchQuery(q.query),
        sort: ['_score', { id: 'asc' }],
      },
      (p) => ({ id: p.id, full_name: p.full_name }),
    );
    if (!page.items.length) return { ...page, items: [] };
    // The filmographies of the page in one round trip.
    const answers = await this.call(() =>
      this.client.msearch<FilmSource>({
        searches: page.items.flatMap((p) => [{ index: this.index('films') }, filmsOfQuery(p.id)]),
      }),
    );
    return {
      ...page,
      items: page.items.map((p, i) => {
        const r = answers.responses[i]!;
        const hits = 'hits' in r ? r.hits.hits : [];
        return { ...p, films: hits.map((h) => personFilm(h._source!, p.id)) };
      }),
    };
  }

  async ping(): Promise<void> {
    await this.client.cluster.health({ timeout: '2s' });
  }

  private async filmsOf(personId: string): Promise<PersonFilm[]> {
    const r = await this.call(
      () =>
        this.client.search<FilmSource>({ index: this.index('films'), ...filmsOfQuery(personId) }),
      null,
    );
    return r ? r.hits.hits.map((h) => personFilm(h._source!, personId)) : [];
  }

  private async get<T>(index: 'films' | 'genres' | 'persons', id: string): Promise<T | null> {
    try {
      const r = await this.client.get<T>({ index: this.index(index), id });
      return r._source ?? null;
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return null;
      throw unavailable(err);
    }
  }

  private async page<S, T>(
    index: 'films' | 'genres' | 'persons',
    q: PageRequest,
    body: Omit<estypes.SearchRequest, 'index' | 'from' | 'size'>,
    map: (s: S) => T,
  ): Promise<Page<T>> {
    const r = await this.call(
      () =>
        this.client.search<S>({
          index: this.index(index),
          from: (q.pageNumber - 1) * q.pageSize,
          size: q.pageSize,
          track_total_hits: true,
          ...body,
        }),
      null,
    );
    const total = r
      ? typeof r.hits.total === 'number'
        ? r.hits.total
        : (r.hits.total?.value ?? 0)
      : 0;
    return {
      items: r ? r.hits.hits.map((h) => map(h._source!)) : [],
      page_number: q.pageNumber,
      page_size: q.pageSize,
      total,
    };
  }

  /** Runs a request; a missing index answers `missing`, an outage a 503. */
  private async call<T, M = never>(run: () => Promise<T>, missing?: M): Promise<T | M> {
    try {
      return await run();
    } catch (err) {
      if (
        missing !== undefined &&
        err instanceof errors.ResponseError &&
        err.body?.error?.type === 'index_not_found_exception'
      ) {
        return missing;
      }
      throw unavailable(err);
    }
  }
}

/**
 * Typo tolerance: one edit in words of 3 to 7 letters, two from 8 (`AUTO` allows two from 6, which
 * turns "matrix" into "mario" and "martin").
 */
const FUZZINESS = 'AUTO:3,8';

/**
 * Film search. Every clause needs all the query's words (in one title, or across title, people
 * and description), so a query never matches on one word of several. The clauses add up, from
 * the strongest: the whole title (lower-cased), the words as a phrase in the title, the words
 * as a phrase in the people's names, all the words anywhere (title over people over
 * description), and only then the typo-tolerant fallback (`FUZZINESS`, description too). The
 * rating is a tie-breaker: it adds at most 0.1 to a score (a rating of 10).
 */
export function filmSearchQuery(query: string): estypes.QueryDslQueryContainer {
  return {
    function_score: {
      query: {
        bool: {
          should: [
            { term: { 'title.exact': { value: query.trim(), boost: 20 } } },
            { match_phrase: { title: { query, boost: 8 } } },
            { match_phrase: { person_names: { query, boost: 3 } } },
            {
              multi_match: {
                query,
                type: 'cross_fields',
                fields: ['title^3', 'person_names^2', 'description^0.5'],
                operator: 'and',
                boost: 2,
              },
            },
            {
              multi_match: {
                query,
                type: 'best_fields',
                fields: ['title^3', 'person_names^2', 'description^0.5'],
                operator: 'and',
                fuzziness: FUZZINESS,
                prefix_length: 1,
                fuzzy_transpositions: true,
                boost: 0.5,
              },
            },
          ],
          minimum_should_match: 1,
        },
      },
      functions: [{ field_value_factor: { field: 'rating', factor: 0.01, missing: 0 } }],
      boost_mode: 'sum',
      score_mode: 'sum',
    },
  };
}

/** Person search by name: the whole name, the words as a phrase, all words, then with typos. */
export function personSearchQuery(query: string): estypes.QueryDslQueryContainer {
  return {
    bool: {
      should: [
        { term: { 'full_name.exact': { value: query.trim(), boost: 10 } } },
        { match_phrase: { full_name: { query, boost: 4 } } },
        { match: { full_name: { query, operator: 'and', boost: 2 } } },
        {
          match: {
            full_name: {
              query,
              operator: 'and',
              fuzziness: FUZZINESS,
              prefix_length: 1,
              boost: 0.5,
            },
          },
        },
      ],
      minimum_should_match: 1,
    },
  };
}

function filmsOfQuery(personId: string): Omit<estypes.SearchRequest, 'index'> {
  return {
    size: MAX_PERSON_FILMS,
    query: { nested: { path: 'persons', query: { term: { 'persons.id': personId } } } },
    sort: [{ rating: { order: 'desc', missing: '_last' } }, { id: 'asc' }],
    _source: ['id', 'title', 'rating', 'persons.id', 'persons.role'],
  };
}

function short(f: FilmSource): FilmShort {
  return { id: f.id, title: f.title, rating: f.rating ?? null };
}

function personFilm(f: FilmSource, personId: string): PersonFilm {
  const roles = [
    ...new Set(f.persons.filter((p) => p.id === personId).map((p) => p.role)),
  ].sort() as Role[];
  return { id: f.id, title: f.title, rating: f.rating ?? null, roles };
}

/** Connection problems are an outage (503); anything else stays an error. */
function unavailable(err: unknown): unknown {
  if (
    err instanceof errors.ConnectionError ||
    err instanceof errors.TimeoutError ||
    err instanceof errors.NoLivingConnectionsError ||
    (err instanceof errors.ResponseError && (err.statusCode === 503 || err.statusCode === 429))
  ) {
    return new ServiceUnavailableError('the search index is unavailable', 5);
  }
  return err;
}
