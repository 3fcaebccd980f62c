import { ValidationError } from '@cinema/errors';
import { html } from '@cinema/html';
import { parseFilmInput, parsePageNumber } from '../src/domain/catalog';
import { canonicalTimestamp, differences, parseSourceRow, TABLES } from '../src/migration/tables';

const film = TABLES.find((t) => t.name === 'film_work')!;
const base = {
  id: '3D825F60-9FFF-4DFE-B294-1A45FA1E115D',
  title: 'A',
  type: 'movie',
  rating: 8.6,
  created_at: '2021-06-16 20:14:09.221838+00',
  updated_at: '2021-06-16 20:14:09.221855+00',
};

describe('canonicalTimestamp', () => {
  it('reads the legacy forms into one UTC form to the microsecond', () => {
    expect(canonicalTimestamp('2021-06-16 20:14:09.221838+00')).toBe('2021-06-16T20:14:09.221838Z');
    expect(canonicalTimestamp('2021-06-16T22:14:09.2+02:00')).toBe('2021-06-16T20:14:09.200000Z');
    expect(canonicalTimestamp('2021-06-16 20:14:09')).toBe('2021-06-16T20:14:09.000000Z');
    expect(canonicalTimestamp('2021-02-30 10:00:00')).toBeUndefined();
    expect(canonicalTimestamp('yesterday')).toBeUndefined();
  });
});

describe('parseSourceRow', () => {
  it('canonicalises a good row (lower-case ids, numbers, timestamps)', () => {
    const row = parseSourceRow(film, base);
    expect(row).toMatchObject({
      ok: true,
      id: '3d825f60-9fff-4dfe-b294-1a45fa1e115d',
      values: { rating: 8.6, created: '2021-06-16T20:14:09.221838Z', description: null },
    });
  });

  it.each([
    [{ id: 'x' }, 'id "x" is not a UUID'],
    [{ title: '  ' }, 'title is empty'],
    [{ title: 'x'.repeat(501) }, 'title is longer than 500 characters (501)'],
    [{ rating: -1 }, 'rating -1 is outside 0..10'],
    [{ rating: 'good' }, 'rating "good" is not a number'],
    [{ type: 'series' }, 'type "series" is not one of movie, tv_show'],
    [{ creation_date: '2021-13-01' }, 'creation_date "2021-13-01" is not a date'],
    [{ updated_at: 'soon' }, 'updated_at "soon" is not a timestamp'],
  ])('refuses %p with a reason', (change, reason) => {
    expect(parseSourceRow(film, { ...base, ...change })).toMatchObject({ ok: false, reason });
  });
});

describe('differences', () => {
  it('names each differing column; modified may only be newer', () => {
    const src = (parseSourceRow(film, base) as { values: Record<string, string | number | null> })
      .values;
    expect(differences(film, src, { ...src }, { includeMaintained: true })).toEqual([]);
    expect(
      differences(
        film,
        src,
        { ...src, title: 'B', modified: '2030-01-01T00:00:00.000000Z' },
        {
          includeMaintained: true,
        },
      ),
    ).toEqual(['title: SQLite "A" ≠ PostgreSQL "B"']);
    expect(
      differences(
        film,
        src,
        { ...src, modified: '2020-01-01T00:00:00.000000Z' },
        {
          includeMaintained: true,
        },
      ),
    ).toHaveLength(1);
  });
});

describe('admin input', () => {
  it('lists every bad field of a film', () => {
    try {
      parseFilmInput({ title: '', rating: '10.5', type: 'x', creationDate: '1999-02-29' });
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect(Object.keys((err as ValidationError).fields).sort()).toEqual([
        'creationDate',
        'rating',
        'title',
        'type',
      ]);
    }
    expect(parseFilmInput({ title: ' Alien ', rating: '8.5' })).toMatchObject({
      title: 'Alien',
      rating: 8.5,
      type: 'movie',
      description: null,
    });
  });

  it('bounds page numbers and escapes markup', () => {
    expect([parsePageNumber('0'), parsePageNumber('x'), parsePageNumber('99999')]).toEqual([
      1, 1, 10_000,
    ]);
    expect(html`<p>${'<b>"x"&</b>'}</p>`.value).toBe(
      '<p>&lt;b&gt;&quot;x&quot;&amp;&lt;/b&gt;</p>',
    );
  });
});
