/**
 * The catalog's Elasticsearch indices as catalog-etl writes them and catalog-api reads them:
 * names, analysis settings, mappings and document shapes, in one place for both (and for
 * catalog-api's test fixture, which writes documents the way the ETL does).
 */
import type { estypes } from '@elastic/elasticsearch';

export type IndexName = 'films' | 'genres' | 'persons';

export const INDEX_NAMES: readonly IndexName[] = ['films', 'genres', 'persons'];

export function indexName(prefix: string, name: IndexName): string {
  return `${prefix}${name}`;
}

export type Role = 'actor' | 'director' | 'writer';

/** A document of `<prefix>films`. */
export interface FilmDocument {
  id: string;
  title: string;
  description: string | null;
  /** ISO date */
  creation_date: string | null;
  rating: number | null;
  type: string;
  file_path: string | null;
  genres: Array<{ id: string; name: string }>;
  persons: Array<{ id: string; full_name: string; role: Role }>;
  /** Every person's name once, for full-text search across the film's people. */
  person_names: string[];
  /** ISO timestamp */
  modified: string;
}

/** A document of `<prefix>genres`. */
export interface GenreDocument {
  id: string;
  name: string;
  description: string | null;
  modified: string;
}

/** A document of `<prefix>persons`. */
export interface PersonDocument {
  id: string;
  full_name: string;
  /** ISO date */
  birth_date: string | null;
  modified: string;
}

/**
 * Analysis every index is created with: only what a bare Elasticsearch has (no analysis-common
 * module, no language plugins), so a `lowercase` normalizer for whole-value matches. Language
 * analyzers (`ES_ANALYZER`, a chart value) apply to the text fields where the cluster has them.
 */
export const ANALYSIS: estypes.IndicesIndexSettingsAnalysis = {
  normalizer: { lowercase: { type: 'custom', filter: ['lowercase'] } },
};

/**
 * Explicit mappings: keyword + text subfields, nested genres and persons, numeric rating. Titles
 * and names also have `exact` (the whole value, lower-cased: an exact title outranks one that
 * only contains the words) and film titles `suggest` (a completion field for the search box).
 */
export function mappings(analyzer: string): Record<IndexName, estypes.MappingTypeMapping> {
  const text = { type: 'text' as const, analyzer };
  const keywordWithText = { type: 'keyword' as const, fields: { text } };
  const raw = { type: 'keyword' as const, ignore_above: 512 };
  const exact = { type: 'keyword' as const, ignore_above: 512, normalizer: 'lowercase' };
  const textWithRaw = { ...text, fields: { raw, exact } };
  return {
    films: {
      dynamic: 'strict',
      properties: {
        id: { type: 'keyword' },
        title: {
          ...text,
          fields: {
            raw,
            exact,
            // `standard`, whatever the text analyzer: a suggestion matches what was typed.
            suggest: { type: 'completion', analyzer: 'standard', max_input_length: 100 },
          },
        },
        description: text,
        creation_date: { type: 'date' },
        rating: { type: 'float' },
        type: { type: 'keyword' },
        file_path: { type: 'keyword', index: false },
        genres: {
          type: 'nested',
          properties: { id: { type: 'keyword' }, name: keywordWithText },
        },
        persons: {
          type: 'nested',
          properties: {
            id: { type: 'keyword' },
            full_name: textWithRaw,
            role: { type: 'keyword' },
          },
        },
        person_names: text,
        modified: { type: 'date' },
      },
    },
    genres: {
      dynamic: 'strict',
      properties: {
        id: { type: 'keyword' },
        name: keywordWithText,
        description: text,
        modified: { type: 'date' },
      },
    },
    persons: {
      dynamic: 'strict',
      properties: {
        id: { type: 'keyword' },
        full_name: textWithRaw,
        birth_date: { type: 'date' },
        modified: { type: 'date' },
      },
    },
  };
}
