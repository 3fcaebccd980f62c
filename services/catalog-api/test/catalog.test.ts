import { ConfigError, jwksUrlOf } from '@cinema/config';
import { ValidationError } from '@cinema/errors';
import { stringParams } from '../src/api/page-views';
import { readConfig } from '../src/config';
import {
  byRole,
  CatalogService,
  type AnswerCache,
  type CatalogSearch,
} from '../src/domain/catalog';

const passThrough: AnswerCache = { through: (_n, _p, compute) => compute() };
const search = {
  films: jest.fn(async () => ({ items: [], page_number: 1, page_size: 1, total: 0 })),
  film: jest.fn(async () => null),
  suggestFilms: jest.fn(async () => [{ id: 'f', title: 'Star Wars', rating: 8 }]),
} as unknown as CatalogSearch;

describe('CatalogService', () => {
  it('refuses pages beyond the result window before asking the index', async () => {
    const service = new CatalogService(search, passThrough);
    await expect(
      service.films({ sort: '-rating', pageNumber: 101, pageSize: 100 }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(search.films).not.toHaveBeenCalled();
    await service.films({ sort: '-rating', pageNumber: 100, pageSize: 100 });
    expect(search.films).toHaveBeenCalledTimes(1);
  });

  it('answers 404 for an unknown film', async () => {
    await expect(new CatalogService(search, passThrough).film('x')).rejects.toMatchObject({
      status: 404,
    });
  });

  it('refuses a blank suggestion prefix before asking the index, and wraps suggestions', async () => {
    const service = new CatalogService(search, passThrough);
    await expect(service.suggestFilms({ prefix: '  ', size: 10 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(search.suggestFilms).not.toHaveBeenCalled();
    await expect(service.suggestFilms({ prefix: 'sta', size: 10 })).resolves.toEqual({
      items: [{ id: 'f', title: 'Star Wars', rating: 8 }],
    });
    expect(search.suggestFilms).toHaveBeenCalledWith({ prefix: 'sta', size: 10 });
  });

  it('splits people by role', () => {
    expect(
      byRole([
        { id: '1', full_name: 'A', role: 'actor' },
        { id: '2', full_name: 'B', role: 'director' },
        { id: '1', full_name: 'A', role: 'writer' },
      ]),
    ).toEqual({
      actors: [{ id: '1', full_name: 'A' }],
      directors: [{ id: '2', full_name: 'B' }],
      writers: [{ id: '1', full_name: 'A' }],
    });
  });
});

describe('page-view parameters', () => {
  it('are strings, bounded in length', () => {
    expect(stringParams({ a: 1, b: ['x', 'y'], c: 'z'.repeat(10_000), d: undefined })).toEqual({
      a: '1',
      b: 'x,y',
      c: 'z'.repeat(256),
    });
  });
});

describe('config', () => {
  const base = {
    ELASTICSEARCH_URL: 'http://es:9200',
    REDIS_URL: 'redis://r:6379',
    KAFKA_BROKERS: 'k:9092',
  };
  it('needs where the auth keys are', () => {
    expect(() => readConfig(base)).toThrow(ConfigError);
    expect(jwksUrlOf(readConfig({ ...base, AUTH_URL: 'http://auth:8001/' }))).toBe(
      'http://auth:8001/.well-known/jwks.json',
    );
  });
  it('lists every bad variable', () => {
    expect(() => readConfig({ AUTH_URL: 'http://a', CACHE_TTL_SECONDS: '0' })).toThrow(
      /ELASTICSEARCH_URL[\s\S]*REDIS_URL[\s\S]*CACHE_TTL_SECONDS[\s\S]*KAFKA_BROKERS/,
    );
  });
});
