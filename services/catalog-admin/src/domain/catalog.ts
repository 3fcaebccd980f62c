/**
 * The catalog's entities and the rules for what an editor may write. No express, no driver:
 * the admin pages and the API hand raw input here and get typed values or a ValidationError
 * naming every bad field.
 */
import { ValidationError } from '@cinema/errors';

export const FILM_TYPES = ['movie', 'tv_show'] as const;
export type FilmType = (typeof FILM_TYPES)[number];
export const ROLES = ['actor', 'director', 'writer'] as const;
export type PersonRole = (typeof ROLES)[number];

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: unknown): value is string =>
  typeof value === 'string' && UUID_RE.test(value);

export interface FilmInput {
  title: string;
  description: string | null;
  creationDate: string | null;
  rating: number | null;
  type: FilmType;
  certificate: string | null;
  filePath: string | null;
}

export interface GenreInput {
  name: string;
  description: string | null;
}

export interface PersonInput {
  fullName: string;
  birthDate: string | null;
}

export interface Film extends FilmInput {
  id: string;
  created: string;
  modified: string;
}

export interface Genre extends GenreInput {
  id: string;
  created: string;
  modified: string;
}

export interface Person extends PersonInput {
  id: string;
  created: string;
  modified: string;
}

export interface FilmGenreLink {
  genreId: string;
  name: string;
}

export interface FilmPersonLink {
  linkId: string;
  personId: string;
  fullName: string;
  role: PersonRole;
}

export interface FilmDetail extends Film {
  genres: FilmGenreLink[];
  persons: FilmPersonLink[];
}

export interface PersonDetail extends Person {
  films: Array<{ filmId: string; title: string; role: PersonRole }>;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}

/** One page of a list, optionally filtered by a name containing `q`. */
export interface ListQuery {
  q?: string;
  page: number;
  pageSize: number;
}

export interface GenreRef {
  id: string;
  name: string;
}

export interface PersonRef {
  id: string;
  full_name: string;
}

/** A film as the movies API shows it: with its genres and its persons by role. */
export interface Movie {
  id: string;
  title: string;
  description: string | null;
  creation_date: string | null;
  rating: number | null;
  type: FilmType;
  genres: GenreRef[];
  actors: PersonRef[];
  directors: PersonRef[];
  writers: PersonRef[];
}

export interface MoviesPage {
  count: number;
  total_pages: number;
  page: number;
  page_size: number;
  prev: number | null;
  next: number | null;
  results: Movie[];
}

type Raw = Record<string, unknown>;
type Problems = Record<string, { message: string; value?: unknown }>;

const str = (raw: Raw, key: string): string =>
  typeof raw[key] === 'string' ? (raw[key] as string).trim() : '';

function text(
  raw: Raw,
  key: string,
  problems: Problems,
  opts: { required?: boolean; max: number },
): string | null {
  const value = str(raw, key);
  if (!value) {
    if (opts.required) problems[key] = { message: 'is required' };
    return null;
  }
  if (value.length > opts.max) {
    problems[key] = { message: `is longer than ${opts.max} characters` };
    return null;
  }
  return value;
}

/** A calendar date `YYYY-MM-DD` that exists (no 2021-02-30). */
export function isIsoDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return (
    d.getUTCFullYear() === Number(m[1]) &&
    d.getUTCMonth() === Number(m[2]) - 1 &&
    d.getUTCDate() === Number(m[3]) &&
    Number(m[1]) >= 1800 &&
    Number(m[1]) <= 2200
  );
}

function date(raw: Raw, key: string, problems: Problems): string | null {
  const value = str(raw, key);
  if (!value) return null;
  if (!isIsoDate(value)) {
    problems[key] = { message: 'must be a date YYYY-MM-DD between 1800 and 2200', value };
    return null;
  }
  return value;
}

function fail(entity: string, problems: Problems): never {
  throw new ValidationError(`invalid ${entity}: ${Object.keys(problems).join(', ')}`, problems);
}

export function parseFilmInput(raw: Raw): FilmInput {
  const problems: Problems = {};
  const title = text(raw, 'title', problems, { required: true, max: 500 });
  const description = text(raw, 'description', problems, { max: 20_000 });
  const certificate = text(raw, 'certificate', problems, { max: 500 });
  const filePath = text(raw, 'filePath', problems, { max: 1000 });
  const creationDate = date(raw, 'creationDate', problems);
  let rating: number | null = null;
  const ratingText = typeof raw.rating === 'number' ? String(raw.rating) : str(raw, 'rating');
  if (ratingText) {
    const n = Number(ratingText);
    if (!/^\d{1,2}(\.\d{1,3})?$/.test(ratingText) || !(n >= 0 && n <= 10)) {
      problems.rating = { message: 'must be a number from 0 to 10', value: ratingText };
    } else rating = n;
  }
  const type = str(raw, 'type') || 'movie';
  if (!(FILM_TYPES as readonly string[]).includes(type)) {
    problems.type = { message: `must be one of ${FILM_TYPES.join(', ')}`, value: type };
  }
  if (Object.keys(problems).length) fail('film', problems);
  return {
    title: title!,
    description,
    creationDate,
    rating,
    type: type as FilmType,
    certificate,
    filePath,
  };
}

export function parseGenreInput(raw: Raw): GenreInput {
  const problems: Problems = {};
  const name = text(raw, 'name', problems, { required: true, max: 200 });
  const description = text(raw, 'description', problems, { max: 20_000 });
  if (Object.keys(problems).length) fail('genre', problems);
  return { name: name!, description };
}

export function parsePersonInput(raw: Raw): PersonInput {
  const problems: Problems = {};
  const fullName = text(raw, 'fullName', problems, { required: true, max: 300 });
  const birthDate = date(raw, 'birthDate', problems);
  if (Object.keys(problems).length) fail('person', problems);
  return { fullName: fullName!, birthDate };
}

export function parseRole(value: unknown): PersonRole {
  if (typeof value === 'string' && (ROLES as readonly string[]).includes(value)) {
    return value as PersonRole;
  }
  throw new ValidationError('invalid role', {
    role: { message: `must be one of ${ROLES.join(', ')}`, value },
  });
}

/** Page number from a query string: 1..10,000, anything else falls back to 1. */
export function parsePageNumber(value: unknown): number {
  const n = typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : 1;
  return Math.min(Math.max(n, 1), 10_000);
}

/** Search text from a query string: trimmed, at most 200 characters. */
export function parseSearch(value: unknown): string {
  return typeof value === 'string' ? value.trim().slice(0, 200) : '';
}
