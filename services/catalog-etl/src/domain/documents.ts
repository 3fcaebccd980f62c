/** The documents the ETL writes to Elasticsearch, and how rows become documents. */

export type Role = 'actor' | 'director' | 'writer';

export interface FilmRow {
  id: string;
  title: string;
  description: string | null;
  creation_date: string | null;
  rating: number | null;
  type: string;
  file_path: string | null;
  modified: string;
  genres: Array<{ id: string; name: string }>;
  persons: Array<{ id: string; full_name: string; role: Role }>;
}

export interface GenreRow {
  id: string;
  name: string;
  description: string | null;
  modified: string;
}

export interface PersonRow {
  id: string;
  full_name: string;
  birth_date: string | null;
  modified: string;
}

export interface FilmDoc {
  id: string;
  title: string;
  description: string | null;
  creation_date: string | null;
  rating: number | null;
  type: string;
  file_path: string | null;
  genres: Array<{ id: string; name: string }>;
  persons: Array<{ id: string; full_name: string; role: Role }>;
  /** Every person's name once, for full-text search across the film's people. */
  person_names: string[];
  modified: string;
}

export type GenreDoc = GenreRow;
export type PersonDoc = PersonRow;

/** PostgreSQL's `timestamptz::text` (`2024-01-02 03:04:05.123456+00`) as ISO 8601. */
export function isoTimestamp(pgText: string): string {
  const d = new Date(pgText.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
  return Number.isNaN(d.getTime()) ? pgText : d.toISOString();
}

export function filmDocument(row: FilmRow): FilmDoc {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    creation_date: row.creation_date,
    rating: row.rating,
    type: row.type,
    file_path: row.file_path,
    genres: row.genres,
    persons: row.persons,
    person_names: [...new Set(row.persons.map((p) => p.full_name))],
    modified: isoTimestamp(row.modified),
  };
}

export function genreDocument(row: GenreRow): GenreDoc {
  return { ...row, modified: isoTimestamp(row.modified) };
}

export function personDocument(row: PersonRow): PersonDoc {
  return { ...row, modified: isoTimestamp(row.modified) };
}
