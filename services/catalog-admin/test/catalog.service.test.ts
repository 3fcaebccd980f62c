/**
 * The catalog's use cases against an in-memory fake of the repository port: no I/O.
 */
import { NotFoundError, ValidationError } from '@cinema/errors';
import type { ListQuery, Movie, PersonRole } from '../src/domain/catalog';
import { CatalogService, LIST_PAGE_SIZE } from '../src/domain/catalog.service';
import type { CatalogRepository } from '../src/domain/ports';

const FILM = '3d825f60-9fff-4dfe-b294-1a45fa1e115d';
const movie = (id: string): Movie => ({
  id,
  title: id,
  description: null,
  creation_date: null,
  rating: null,
  type: 'movie',
  genres: [],
  actors: [],
  directors: [],
  writers: [],
});

function fakeRepository(persons: Array<{ id: string; fullName: string }> = []) {
  const calls: Array<[string, ...unknown[]]> = [];
  const record =
    (name: string, result?: unknown) =>
    async (...args: unknown[]) => {
      calls.push([name, ...args]);
      return result;
    };
  const page = { items: [], total: 0, page: 1, pageSize: LIST_PAGE_SIZE };
  const repository: CatalogRepository = {
    listFilms: record('listFilms', page) as CatalogRepository['listFilms'],
    getFilm: async (id) => {
      calls.push(['getFilm', id]);
      if (id !== FILM) throw new NotFoundError('film not found');
      return {} as Awaited<ReturnType<CatalogRepository['getFilm']>>;
    },
    createFilm: record('createFilm', 'new-id') as CatalogRepository['createFilm'],
    updateFilm: record('updateFilm') as CatalogRepository['updateFilm'],
    deleteFilm: record('deleteFilm') as CatalogRepository['deleteFilm'],
    addGenreToFilm: record('addGenreToFilm') as CatalogRepository['addGenreToFilm'],
    removeGenreFromFilm: record('removeGenreFromFilm') as CatalogRepository['removeGenreFromFilm'],
    addPersonToFilm: record('addPersonToFilm') as CatalogRepository['addPersonToFilm'],
    removePersonLink: record('removePersonLink') as CatalogRepository['removePersonLink'],
    listGenres: record('listGenres', page) as CatalogRepository['listGenres'],
    allGenres: record('allGenres', [{ id: 'g', name: 'Drama' }]) as CatalogRepository['allGenres'],
    getGenre: record('getGenre') as CatalogRepository['getGenre'],
    createGenre: record('createGenre', 'new-id') as CatalogRepository['createGenre'],
    updateGenre: record('updateGenre') as CatalogRepository['updateGenre'],
    deleteGenre: record('deleteGenre') as CatalogRepository['deleteGenre'],
    listPersons: record('listPersons', page) as CatalogRepository['listPersons'],
    getPerson: record('getPerson') as CatalogRepository['getPerson'],
    findPersons: async (text) => {
      calls.push(['findPersons', text]);
      return persons.filter(
        (p) => p.id === text || p.fullName.toLowerCase() === text.toLowerCase(),
      );
    },
    createPerson: record('createPerson', 'new-id') as CatalogRepository['createPerson'],
    updatePerson: record('updatePerson') as CatalogRepository['updatePerson'],
    deletePerson: record('deletePerson') as CatalogRepository['deletePerson'],
    moviesPage: async (page, pageSize) => {
      calls.push(['moviesPage', page, pageSize]);
      const total = 999;
      const first = (page - 1) * pageSize;
      const n = Math.max(0, Math.min(pageSize, total - first));
      return { total, rows: Array.from({ length: n }, (_, i) => movie(String(first + i))) };
    },
    movie: record('movie', movie(FILM)) as CatalogRepository['movie'],
  };
  return { repository, calls };
}

describe('CatalogService lists', () => {
  it('parses the query string once: trimmed search, page 1..10,000, the admin page size', async () => {
    const { repository, calls } = fakeRepository();
    const service = new CatalogService(repository);
    const listing = await service.listFilms({ q: '  alien  ', page: '3' });
    expect(listing.q).toBe('alien');
    await service.listGenres({ page: '9'.repeat(50) });
    await service.listPersons({ q: ['x'], page: '99999' });
    expect(calls).toEqual([
      ['listFilms', { q: 'alien', page: 3, pageSize: LIST_PAGE_SIZE } satisfies ListQuery],
      ['listGenres', { q: '', page: 1, pageSize: LIST_PAGE_SIZE }],
      ['listPersons', { q: '', page: 10_000, pageSize: LIST_PAGE_SIZE }],
    ]);
  });
});

describe('CatalogService writes', () => {
  it('validates every field before anything reaches the repository', async () => {
    const { repository, calls } = fakeRepository();
    const service = new CatalogService(repository);
    await expect(service.createFilm({ title: '', rating: '11', type: 'cartoon' })).rejects.toThrow(
      ValidationError,
    );
    await expect(service.updateGenre('x', { name: ' ' })).rejects.toMatchObject({
      status: 422,
      fields: { name: { message: 'is required' } },
    });
    await expect(service.createPerson({ fullName: 'A', birthDate: '2021-02-30' })).rejects.toThrow(
      'invalid person: birthDate',
    );
    expect(calls).toEqual([]);
    expect(await service.createFilm({ title: ' Alien ', rating: '8.5' })).toBe('new-id');
    expect(calls).toEqual([
      [
        'createFilm',
        {
          title: 'Alien',
          description: null,
          creationDate: null,
          rating: 8.5,
          type: 'movie',
          certificate: null,
          filePath: null,
        },
      ],
    ]);
  });

  it('attaches the one person named (any case) or whose id is given, in a valid role', async () => {
    const persons = [
      { id: 'p1', fullName: 'Ridley Scott' },
      { id: 'p2', fullName: 'John Smith' },
      { id: 'p3', fullName: 'John Smith' },
    ];
    const { repository, calls } = fakeRepository(persons);
    const service = new CatalogService(repository);
    await service.attachPerson(FILM, '  ridley scott ', 'director');
    await service.attachPerson(FILM, 'p3', 'writer');
    expect(calls.filter(([name]) => name === 'addPersonToFilm')).toEqual([
      ['addPersonToFilm', FILM, 'p1', 'director' satisfies PersonRole],
      ['addPersonToFilm', FILM, 'p3', 'writer'],
    ]);

    await expect(service.attachPerson(FILM, 'p1', 'producer')).rejects.toMatchObject({
      status: 422,
      fields: { role: { value: 'producer' } },
    });
    await expect(service.attachPerson(FILM, '   ', 'actor')).rejects.toThrow(
      "enter a person's full name or id",
    );
    await expect(service.attachPerson(FILM, 'Nobody', 'actor')).rejects.toThrow(
      'no person named "Nobody"; create the person first',
    );
    await expect(service.attachPerson(FILM, 'John Smith', 'actor')).rejects.toThrow(
      '2 persons are named "John Smith"; enter the id of the one you mean (p2, p3)',
    );
    expect(calls.filter(([name]) => name === 'addPersonToFilm')).toHaveLength(2);
  });

  it("loads a film's editor: the film first (a missing one is NotFound), then every genre", async () => {
    const { repository, calls } = fakeRepository();
    const service = new CatalogService(repository);
    expect((await service.filmEditor(FILM)).genres).toEqual([{ id: 'g', name: 'Drama' }]);
    await expect(service.filmEditor('nope')).rejects.toThrow(NotFoundError);
    expect(calls.map(([name]) => name)).toEqual(['getFilm', 'allGenres', 'getFilm']);
  });
});

describe('CatalogService movies page', () => {
  it('counts pages and links the previous and next ones', async () => {
    const service = new CatalogService(fakeRepository().repository);
    expect(await service.moviesPage(2, 20)).toMatchObject({
      count: 999,
      total_pages: 50,
      page: 2,
      page_size: 20,
      prev: 1,
      next: 3,
    });
    const last = await service.moviesPage(50, 20);
    expect(last.results).toHaveLength(19);
    expect(last.next).toBeNull();
    const first = await service.moviesPage(1, 100);
    expect(first.prev).toBeNull();
    // Past the end: no rows; `prev` points at the last page there is.
    const beyond = await service.moviesPage(9999, 100);
    expect(beyond).toMatchObject({ results: [], prev: 10, next: null });
  });
});
