/**
 * What the legacy SQLite catalog holds and where each column goes in schema `content`, with the
 * rules a row must meet, and one canonical form per value so that both sides compare exactly.
 */
import { isIsoDate, isUuid } from '../domain/catalog';

export type Kind = 'uuid' | 'text' | 'date' | 'rating' | 'timestamp';

export interface ColumnSpec {
  /** Column in SQLite. */
  src: string;
  /** Column in PostgreSQL. */
  dst: string;
  kind: Kind;
  required?: boolean;
  max?: number;
  values?: readonly string[];
  /** Maintained by PostgreSQL after the copy (`modified`): compared as "not older than". */
  maintained?: boolean;
}

export interface TableSpec {
  name: 'film_work' | 'genre' | 'person' | 'genre_film_work' | 'person_film_work';
  columns: ColumnSpec[];
}

const id: ColumnSpec = { src: 'id', dst: 'id', kind: 'uuid', required: true };
const created: ColumnSpec = { src: 'created_at', dst: 'created', kind: 'timestamp' };
const modified: ColumnSpec = {
  src: 'updated_at',
  dst: 'modified',
  kind: 'timestamp',
  maintained: true,
};

/** In dependency order: rows a link points to come first. */
export const TABLES: TableSpec[] = [
  {
    name: 'genre',
    columns: [
      id,
      { src: 'name', dst: 'name', kind: 'text', required: true, max: 200 },
      { src: 'description', dst: 'description', kind: 'text' },
      created,
      modified,
    ],
  },
  {
    name: 'person',
    columns: [
      id,
      { src: 'full_name', dst: 'full_name', kind: 'text', required: true, max: 300 },
      { src: 'birth_date', dst: 'birth_date', kind: 'date' },
      created,
      modified,
    ],
  },
  {
    name: 'film_work',
    columns: [
      id,
      { src: 'title', dst: 'title', kind: 'text', required: true, max: 500 },
      { src: 'description', dst: 'description', kind: 'text' },
      { src: 'creation_date', dst: 'creation_date', kind: 'date' },
      { src: 'certificate', dst: 'certificate', kind: 'text' },
      { src: 'file_path', dst: 'file_path', kind: 'text' },
      { src: 'rating', dst: 'rating', kind: 'rating' },
      {
        src: 'type',
        dst: 'type',
        kind: 'text',
        required: true,
        values: ['movie', 'tv_show'],
      },
      created,
      modified,
    ],
  },
  {
    name: 'genre_film_work',
    columns: [
      id,
      { src: 'film_work_id', dst: 'film_work_id', kind: 'uuid', required: true },
      { src: 'genre_id', dst: 'genre_id', kind: 'uuid', required: true },
      created,
    ],
  },
  {
    name: 'person_film_work',
    columns: [
      id,
      { src: 'film_work_id', dst: 'film_work_id', kind: 'uuid', required: true },
      { src: 'person_id', dst: 'person_id', kind: 'uuid', required: true },
      {
        src: 'role',
        dst: 'role',
        kind: 'text',
        required: true,
        values: ['actor', 'director', 'writer'],
      },
      created,
    ],
  },
];

export const PG_TYPES: Record<Kind, string> = {
  uuid: 'uuid',
  text: 'text',
  date: 'date',
  rating: 'double precision',
  timestamp: 'timestamptz',
};

/** A value in canonical form: strings for everything but ratings; null for absent. */
export type Canonical = string | number | null;

const TS_RE =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * A timestamp as `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC (microseconds, PostgreSQL's precision);
 * undefined when it is not a timestamp. Without a zone, UTC is assumed.
 */
export function canonicalTimestamp(value: string): string | undefined {
  const m = TS_RE.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m;
  let offsetMin = 0;
  if (zone.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    offsetMin = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3] ?? 0));
  }
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  if (
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    return undefined;
  }
  const micros = frac.padEnd(6, '0').slice(0, 6);
  if (frac.length > 6 && /[1-9]/.test(frac.slice(6))) return undefined; // below a microsecond
  const utc = new Date(ms - offsetMin * 60_000).toISOString().slice(0, 19);
  return `${utc}.${micros}Z`;
}

export interface ParsedRow {
  ok: true;
  id: string;
  values: Record<string, Canonical>;
}
export interface BadRow {
  ok: false;
  id: string;
  reason: string;
}

const show = (v: unknown) =>
  JSON.stringify(typeof v === 'string' && v.length > 60 ? `${v.slice(0, 60)}…` : v);

/** Checks and canonicalises one SQLite row; the reason names the first broken rule. */
export function parseSourceRow(table: TableSpec, raw: Record<string, unknown>): ParsedRow | BadRow {
  const rawId = raw.id;
  const idText = typeof rawId === 'string' ? rawId : String(rawId ?? '');
  const values: Record<string, Canonical> = {};
  const bad = (reason: string): BadRow => ({ ok: false, id: idText, reason });
  for (const col of table.columns) {
    let v = raw[col.src];
    if (v instanceof Uint8Array) return bad(`${col.src} is a blob`);
    if (typeof v === 'string' && col.kind !== 'text') v = v.trim();
    if (v === undefined || v === null || (v === '' && col.kind !== 'text')) {
      if (col.required) return bad(`${col.src} is missing`);
      values[col.dst] = null;
      continue;
    }
    switch (col.kind) {
      case 'uuid':
        if (!isUuid(v)) return bad(`${col.src} ${show(v)} is not a UUID`);
        values[col.dst] = (v as string).toLowerCase();
        break;
      case 'text': {
        const s = typeof v === 'string' ? v : String(v);
        if (col.required && !s.trim()) return bad(`${col.src} is empty`);
        if (s.includes('\u0000')) return bad(`${col.src} contains a NUL character`);
        if (col.max && s.length > col.max) {
          return bad(`${col.src} is longer than ${col.max} characters (${s.length})`);
        }
        if (col.values && !col.values.includes(s)) {
          return bad(`${col.src} ${show(s)} is not one of ${col.values.join(', ')}`);
        }
        values[col.dst] = s;
        break;
      }
      case 'date':
        if (typeof v !== 'string' || !isIsoDate(v))
          return bad(`${col.src} ${show(v)} is not a date`);
        values[col.dst] = v;
        break;
      case 'rating': {
        const n = typeof v === 'number' ? v : Number(v);
        if (!Number.isFinite(n) || (typeof v === 'string' && !/^-?\d+(\.\d+)?$/.test(v))) {
          return bad(`${col.src} ${show(v)} is not a number`);
        }
        if (n < 0 || n > 10) return bad(`${col.src} ${n} is outside 0..10`);
        values[col.dst] = n;
        break;
      }
      case 'timestamp': {
        const ts = typeof v === 'string' ? canonicalTimestamp(v) : undefined;
        if (!ts) return bad(`${col.src} ${show(v)} is not a timestamp`);
        values[col.dst] = ts;
        break;
      }
    }
  }
  return { ok: true, id: values.id as string, values };
}

/** The SELECT list that reads a PostgreSQL row in the same canonical form. */
export function pgSelectList(table: TableSpec): string {
  return table.columns
    .map((c) => {
      switch (c.kind) {
        case 'uuid':
          return `${c.dst}::text AS ${c.dst}`;
        case 'date':
          return `to_char(${c.dst}, 'YYYY-MM-DD') AS ${c.dst}`;
        case 'timestamp':
          return `to_char(${c.dst} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ${c.dst}`;
        default:
          return c.dst;
      }
    })
    .join(', ');
}

/**
 * Column by column differences between a source row and the PostgreSQL row. A source timestamp
 * that is absent is not compared (PostgreSQL filled it in); `modified` is maintained by
 * PostgreSQL's triggers (every change, including the copy's own link inserts, moves it), so it
 * must be no older than the source's.
 */
export function differences(
  table: TableSpec,
  source: Record<string, Canonical>,
  target: Record<string, Canonical>,
  { includeMaintained }: { includeMaintained: boolean },
): string[] {
  const out: string[] = [];
  for (const col of table.columns) {
    const a = source[col.dst] ?? null;
    const b = target[col.dst] ?? null;
    if (col.kind === 'timestamp' && a === null) continue;
    if (col.maintained) {
      if (includeMaintained && (b === null || String(b) < String(a))) {
        out.push(`${col.dst}: PostgreSQL ${show(b)} is older than SQLite ${show(a)}`);
      }
      continue;
    }
    if (a !== b) out.push(`${col.dst}: SQLite ${show(a)} ≠ PostgreSQL ${show(b)}`);
  }
  return out;
}
