/**
 * The ETL's use case: find what changed in the catalog since the saved state, write it to the
 * search indices, then save the new state. Each stream is read by keyset, in batches:
 *
 * - tombstones (by seq): deletes, applied first so a row deleted and re-created is re-indexed;
 * - films (by modified, id): a film's own changes and its links' changes (the schema's triggers
 *   touch the film when a link changes);
 * - genres and persons (by modified, id): their own documents, and every film that references
 *   them is re-indexed (a renamed person reaches all of their films).
 *
 * State is saved after each batch is written, so a crash re-does at most one batch; writes are
 * idempotent (document id = row id). Drivers stay behind the ports below.
 */
import {
  filmDocument,
  isoTimestamp,
  genreDocument,
  personDocument,
  type FilmRow,
  type GenreRow,
  type PersonRow,
} from './documents';

export type IndexName = 'films' | 'genres' | 'persons';
export type Entity = 'film_work' | 'genre' | 'person';

export interface Cursor {
  modified: string;
  id: string;
}

export const START: Cursor = { modified: '-infinity', id: '00000000-0000-0000-0000-000000000000' };

export interface ContentSource {
  /** The database's clock (timestamptz text). */
  now(): Promise<string>;
  changedFilms(after: Cursor, limit: number): Promise<Cursor[]>;
  changedGenres(after: Cursor, limit: number): Promise<GenreRow[]>;
  changedPersons(after: Cursor, limit: number): Promise<PersonRow[]>;
  films(ids: string[]): Promise<FilmRow[]>;
  filmIdsOfGenres(ids: string[]): Promise<string[]>;
  filmIdsOfPersons(ids: string[]): Promise<string[]>;
  tombstones(
    afterSeq: string,
    limit: number,
  ): Promise<Array<{ seq: string; entity: Entity; id: string }>>;
}

export interface StateStore {
  cursor(stream: Entity): Promise<Cursor>;
  saveCursor(stream: Entity, cursor: Cursor): Promise<void>;
  seq(stream: 'tombstone'): Promise<string>;
  saveSeq(stream: 'tombstone', seq: string): Promise<void>;
}

export interface SearchSink {
  upsert(index: IndexName, docs: Array<{ id: string }>): Promise<void>;
  remove(index: IndexName, ids: string[]): Promise<void>;
  /** Makes the writes visible to searches. */
  refresh(indices: IndexName[]): Promise<void>;
}

export interface CacheInvalidator {
  /** Called after the changes of a pass are visible: cached answers may now be stale. */
  invalidate(): Promise<void>;
}

export interface EtlObserver {
  indexed?(index: IndexName, count: number): void;
  deleted?(index: IndexName, count: number): void;
}

export interface PassResult {
  indexed: Record<IndexName, number>;
  deleted: Record<IndexName, number>;
}

const INDEX_OF: Record<Entity, IndexName> = {
  film_work: 'films',
  genre: 'genres',
  person: 'persons',
};

/** Starts a read ahead of its use; a failure surfaces when (and only if) it is awaited. */
function prefetch<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

export class StoppedError extends Error {
  constructor() {
    super('stopped');
    this.name = 'StoppedError';
  }
}

export class Etl {
  private stopping = false;

  constructor(
    private readonly deps: {
      source: ContentSource;
      state: StateStore;
      sink: SearchSink;
      cache?: CacheInvalidator;
      observer?: EtlObserver;
      batchSize: number;
    },
  ) {}

  /** Asks a running pass to stop after its current batch. */
  stop(): void {
    this.stopping = true;
  }

  get stopped(): boolean {
    return this.stopping;
  }

  /** Drains every stream; returns what it wrote. */
  async pass(): Promise<PassResult> {
    const result: PassResult = {
      indexed: { films: 0, genres: 0, persons: 0 },
      deleted: { films: 0, genres: 0, persons: 0 },
    };
    const touched = new Set<IndexName>();
    const { source, state, sink, batchSize } = this.deps;
    // Films written in this pass already carry every genre and person changed before it began:
    // the fan-out of such a change skips them (an initial load then writes each film once).
    const started = Date.parse(isoTimestamp(await source.now()));
    const fresh = new Set<string>();
    const fanOut = async (changedAt: string[], ids: string[]) => {
      const allOld = changedAt.every((m) => Date.parse(isoTimestamp(m)) + 1 < started);
      await reindexFilms(allOld ? ids.filter((id) => !fresh.has(id)) : ids);
    };
    const index = async (name: IndexName, docs: Array<{ id: string }>) => {
      if (!docs.length) return;
      await sink.upsert(name, docs);
      result.indexed[name] += docs.length;
      touched.add(name);
      this.deps.observer?.indexed?.(name, docs.length);
    };
    const reindexFilms = async (ids: string[]) => {
      let next = ids.length ? prefetch(source.films(ids.slice(0, batchSize))) : undefined;
      for (let i = 0; next; i += batchSize) {
        this.checkStop();
        const rows = await next;
        const from = i + batchSize;
        next =
          from < ids.length ? prefetch(source.films(ids.slice(from, from + batchSize))) : undefined;
        await index('films', rows.map(filmDocument));
        for (const row of rows) fresh.add(row.id);
      }
    };

    try {
      // Deletes first.
      for (;;) {
        this.checkStop();
        const after = await state.seq('tombstone');
        const rows = await source.tombstones(after, batchSize);
        if (!rows.length) break;
        for (const entity of ['film_work', 'genre', 'person'] as const) {
          const ids = rows.filter((r) => r.entity === entity).map((r) => r.id);
          if (!ids.length) continue;
          const name = INDEX_OF[entity];
          await sink.remove(name, ids);
          result.deleted[name] += ids.length;
          touched.add(name);
          this.deps.observer?.deleted?.(name, ids.length);
        }
        await state.saveSeq('tombstone', rows[rows.length - 1]!.seq);
        if (rows.length < batchSize) break;
      }

      // Films: the next batch is read from PostgreSQL while this one is written.
      const loadFilms = async (after: Cursor) => {
        const keys = await source.changedFilms(after, batchSize);
        return { keys, rows: keys.length ? await source.films(keys.map((k) => k.id)) : [] };
      };
      let next: Promise<{ keys: Cursor[]; rows: FilmRow[] }> | undefined = prefetch(
        loadFilms(await state.cursor('film_work')),
      );
      while (next) {
        this.checkStop();
        const { keys, rows }: { keys: Cursor[]; rows: FilmRow[] } = await next;
        if (!keys.length) break;
        const last = keys[keys.length - 1]!;
        next = keys.length < batchSize ? undefined : prefetch(loadFilms(last));
        await index('films', rows.map(filmDocument));
        for (const row of rows) fresh.add(row.id);
        await state.saveCursor('film_work', last);
      }

      for (;;) {
        this.checkStop();
        const rows = await source.changedGenres(await state.cursor('genre'), batchSize);
        if (!rows.length) break;
        await index('genres', rows.map(genreDocument));
        await fanOut(
          rows.map((r) => r.modified),
          await source.filmIdsOfGenres(rows.map((r) => r.id)),
        );
        const last = rows[rows.length - 1]!;
        await state.saveCursor('genre', { modified: last.modified, id: last.id });
        if (rows.length < batchSize) break;
      }

      for (;;) {
        this.checkStop();
        const rows = await source.changedPersons(await state.cursor('person'), batchSize);
        if (!rows.length) break;
        await index('persons', rows.map(personDocument));
        await fanOut(
          rows.map((r) => r.modified),
          await source.filmIdsOfPersons(rows.map((r) => r.id)),
        );
        const last = rows[rows.length - 1]!;
        await state.saveCursor('person', { modified: last.modified, id: last.id });
        if (rows.length < batchSize) break;
      }
    } catch (err) {
      // What was written before the failure is made visible too; the failure is what counts.
      await this.publish(touched).catch(() => undefined);
      throw err;
    }
    await this.publish(touched);
    return result;
  }

  /** Makes the writes visible, then tells the cache (in this order, so no stale re-caching). */
  private async publish(touched: Set<IndexName>): Promise<void> {
    if (!touched.size) return;
    await this.deps.sink.refresh([...touched]);
    await this.deps.cache?.invalidate();
  }

  private checkStop(): void {
    if (this.stopping) throw new StoppedError();
  }
}
