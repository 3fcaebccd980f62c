import { filmDocument, isoTimestamp, type FilmRow } from '../src/domain/documents';
import {
  Etl,
  START,
  type ContentSource,
  type Cursor,
  type IndexName,
  type SearchSink,
  type StateStore,
} from '../src/domain/etl';
import { onceMode, readConfig } from '../src/config';

describe('documents', () => {
  it('turns PostgreSQL timestamps into ISO 8601', () => {
    expect(isoTimestamp('2024-03-01 10:20:30.123456+00')).toBe('2024-03-01T10:20:30.123Z');
    expect(isoTimestamp('2024-03-01 12:20:30+02')).toBe('2024-03-01T10:20:30.000Z');
  });

  it('lists each person name once for search', () => {
    const row: FilmRow = {
      id: 'f',
      title: 't',
      description: null,
      creation_date: null,
      rating: 7.5,
      type: 'movie',
      file_path: null,
      modified: '2024-03-01 10:20:30+00',
      genres: [],
      persons: [
        { id: 'p', full_name: 'Ann Lee', role: 'actor' },
        { id: 'p', full_name: 'Ann Lee', role: 'director' },
      ],
    };
    expect(filmDocument(row).person_names).toEqual(['Ann Lee']);
  });
});

describe('config', () => {
  it('lists every bad variable', () => {
    expect(() =>
      readConfig({ DATABASE_URL: 'nope', ES_INDEX_PREFIX: 'UPPER', ETL_BATCH_SIZE: '0' }),
    ).toThrow(/DATABASE_URL[\s\S]*ELASTICSEARCH_URL[\s\S]*ES_INDEX_PREFIX[\s\S]*ETL_BATCH_SIZE/);
  });

  it('reads CronJob mode from --once or ETL_ONCE', () => {
    const env = { DATABASE_URL: 'postgres://u@h/db', ELASTICSEARCH_URL: 'http://h:9200' };
    expect(readConfig(env, ['node', 'main.js']).ETL_ONCE).toBe(false);
    expect(readConfig(env, ['node', 'main.js', '--once']).ETL_ONCE).toBe(true);
    expect(readConfig({ ...env, ETL_ONCE: 'true' }, []).ETL_ONCE).toBe(true);
    expect(onceMode({}, ['node', 'main.js', '--once'])).toBe(true);
    expect(onceMode({ ETL_ONCE: 'true' }, [])).toBe(true);
    expect(onceMode({ ETL_ONCE: 'false' }, [])).toBe(false);
    expect(onceMode({}, [])).toBe(false);
  });
});

/** In-memory catalog with the same keyset semantics as the repository. */
class FakeSource implements ContentSource {
  data = new Map<string, { modified: string; genre: string }>();
  genres = new Map<string, string>();
  clock = 100;
  async now() {
    return ts(this.clock);
  }
  async changedFilms(after: Cursor, limit: number) {
    return [...this.data]
      .map(([id, f]) => ({ id, modified: f.modified }))
      .filter((k) => cmp(k, after) > 0)
      .sort(cmp)
      .slice(0, limit);
  }
  async changedGenres(after: Cursor, limit: number) {
    return [...this.genres]
      .map(([id, modified]) => ({ id, modified, name: id, description: null }))
      .filter((k) => cmp(k, after) > 0)
      .sort(cmp)
      .slice(0, limit);
  }
  async changedPersons() {
    return [];
  }
  async films(ids: string[]) {
    return ids.map((id) => row(id));
  }
  async filmIdsOfGenres(ids: string[]) {
    return [...this.data].filter(([, f]) => ids.includes(f.genre)).map(([id]) => id);
  }
  async filmIdsOfPersons() {
    return [];
  }
  async tombstones() {
    return [];
  }
}
/** A timestamp `n` seconds into 2024, as PostgreSQL prints it. */
const ts = (n: number) =>
  `2024-01-01 00:${String(Math.floor(n / 60)).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}.000000+00`;
const cmp = (a: Cursor, b: Cursor) =>
  a.modified === b.modified ? a.id.localeCompare(b.id) : a.modified < b.modified ? -1 : 1;
const row = (id: string): FilmRow => ({
  id,
  title: id,
  description: null,
  creation_date: null,
  rating: null,
  type: 'movie',
  file_path: null,
  modified: ts(1),
  genres: [],
  persons: [],
});

function harness(source: FakeSource) {
  const cursors = new Map<string, Cursor>();
  const state: StateStore = {
    cursor: async (s) => cursors.get(s) ?? START,
    saveCursor: async (s, c) => void cursors.set(s, c),
    seq: async () => '0',
    saveSeq: async () => undefined,
  };
  const written: Array<[IndexName, string]> = [];
  const sink: SearchSink = {
    upsert: async (index, docs) => void docs.forEach((d) => written.push([index, d.id])),
    remove: async () => undefined,
    refresh: async () => undefined,
  };
  let invalidations = 0;
  const etl = new Etl({
    source,
    state,
    sink,
    cache: { invalidate: async () => void invalidations++ },
    batchSize: 2,
  });
  return { etl, written, invalidations: () => invalidations };
}

describe('Etl', () => {
  it('reads rows sharing a timestamp across batch boundaries, once each', async () => {
    const source = new FakeSource();
    for (const id of ['a', 'b', 'c', 'd', 'e'])
      source.data.set(id, { modified: ts(1), genre: 'g' });
    const h = harness(source);
    const r = await h.etl.pass();
    expect(r.indexed.films).toBe(5);
    expect(h.written.filter(([i]) => i === 'films').map(([, id]) => id)).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);
    expect(h.invalidations()).toBe(1);
    expect((await h.etl.pass()).indexed.films).toBe(0);
    expect(h.invalidations()).toBe(1);
  });

  it('re-indexes the films of a genre changed during the pass, and skips them otherwise', async () => {
    const source = new FakeSource();
    for (const id of ['a', 'b']) source.data.set(id, { modified: ts(1), genre: 'g' });
    source.genres.set('g', ts(2)); // before the pass began (clock 100)
    const first = harness(source);
    expect((await first.etl.pass()).indexed).toEqual({ films: 2, genres: 1, persons: 0 });

    source.genres.set('g', ts(150)); // after the pass began
    const second = harness(source);
    // A fresh state re-reads everything; the genre changed after the start, so its films again.
    expect((await second.etl.pass()).indexed.films).toBe(4);
  });

  it('stops between batches when asked', async () => {
    const source = new FakeSource();
    for (const id of ['a', 'b', 'c']) source.data.set(id, { modified: ts(1), genre: 'g' });
    const h = harness(source);
    h.etl.stop();
    await expect(h.etl.pass()).rejects.toThrow('stopped');
  });
});
