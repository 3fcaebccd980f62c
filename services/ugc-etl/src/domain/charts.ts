/**
 * The analytics page's charts: their shapes (the JSON API's answers) and the rules of the time
 * range they cover. No I/O here: the queries are in adapters/charts.repository.ts.
 */
import { ValidationError } from '@cinema/errors';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The widest range a chart covers. */
export const MAX_RANGE_DAYS = 92;
/** The default range: the last day (to the next whole hour). */
export const DEFAULT_RANGE_HOURS = 24;
/** Most points of a time series; the bucket grows with the range to stay under it. */
export const MAX_POINTS = 1500;
/** Bucket sizes (seconds) a series may use, smallest first. */
export const BUCKETS = [60, 300, 3600, 3 * 3600, 6 * 3600, 86_400] as const;

/** A chart's time range: whole hours, `from` inclusive, `to` exclusive, UTC. */
export interface ChartRange {
  /** ISO 8601, a whole hour. */
  from: string;
  to: string;
}

/** A time range after the rules: Date objects, and the series bucket for it. */
export interface Range {
  from: Date;
  to: Date;
  /** Seconds per point of a time series over this range. */
  bucket: number;
}

/**
 * The range of a chart request: `from`/`to` ISO 8601 times (a missing `to` is now, a missing `from`
 * is a day before `to`), widened to whole hours (the rollups are hourly); `from` before `to`, at
 * most 92 days. Anything else is a 422 naming the field.
 */
export function chartRange(
  fromText: string | undefined,
  toText: string | undefined,
  now = new Date(),
): Range {
  const fields: Record<string, { message: string; value?: unknown }> = {};
  const parse = (name: string, text: string | undefined): Date | undefined => {
    if (text === undefined || text === '') return undefined;
    // A date or a date-time; a date-time without a zone would depend on the server's: refused.
    const ok = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(
      text,
    );
    const ms = ok ? Date.parse(text) : Number.NaN;
    if (Number.isNaN(ms)) {
      fields[name] = {
        message: 'an ISO 8601 date or date-time with a zone (2026-01-31T12:00:00Z)',
        value: text,
      };
      return undefined;
    }
    return new Date(ms);
  };
  const toGiven = parse('to', toText);
  const fromGiven = parse('from', fromText);
  if (Object.keys(fields).length) throw new ValidationError('invalid time range', fields);
  const to = ceilHour(toGiven ?? now);
  const from = floorHour(fromGiven ?? new Date(to.getTime() - DEFAULT_RANGE_HOURS * HOUR));
  if (from.getTime() >= to.getTime())
    throw new ValidationError('from must be before to', {
      from: { message: 'must be before to', value: fromText },
    });
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY)
    throw new ValidationError(`the range is longer than ${MAX_RANGE_DAYS} days`, {
      from: { message: `at most ${MAX_RANGE_DAYS} days before to`, value: fromText },
    });
  return { from, to, bucket: bucketFor(to.getTime() - from.getTime()) };
}

export function floorHour(d: Date): Date {
  return new Date(Math.floor(d.getTime() / HOUR) * HOUR);
}

export function ceilHour(d: Date): Date {
  return new Date(Math.ceil(d.getTime() / HOUR) * HOUR);
}

/** The smallest bucket giving at most MAX_POINTS points over `ms`. */
export function bucketFor(ms: number): number {
  return BUCKETS.find((b) => ms / (b * 1000) <= MAX_POINTS) ?? 86_400;
}

export const rangeOf = (r: Range): ChartRange => ({
  from: r.from.toISOString(),
  to: r.to.toISOString(),
});

export interface PauseCell {
  film_id: string;
  /** Minute of the film (0 = the first). */
  minute: number;
  pauses: number;
}

export interface FilmTotal {
  film_id: string;
  pauses: number;
}

export interface PauseHeatmapChart extends ChartRange {
  /** The films shown (the one asked for, or those with the most pauses), most pauses first. */
  films: FilmTotal[];
  /** Non-zero cells only. */
  cells: PauseCell[];
}

export interface QualityPoint {
  /** Start of the bucket, ISO 8601. */
  t: string;
  up: number;
  down: number;
}

export interface QualityPairCount {
  from_quality: string;
  to_quality: string;
  /** `up` (to a higher resolution), `down`, or `same` when the heights do not tell. */
  direction: 'up' | 'down' | 'same';
  count: number;
}

export interface QualityChart extends ChartRange {
  film_id?: string;
  bucket_seconds: number;
  up: number;
  down: number;
  /** Buckets with at least one switch. */
  series: QualityPoint[];
  pairs: QualityPairCount[];
}

export interface FilmFullViews {
  film_id: string;
  /** Distinct viewers with any player event on the film in the range. */
  viewers: number;
  /** Of them, those who watched to the end. */
  full_viewers: number;
  /** full_viewers / viewers. */
  rate: number;
}

export interface FullViewChart extends ChartRange {
  /** Films with fewer viewers are left out of the ranking. */
  min_viewers: number;
  /** Highest rate first (ties: more viewers first). */
  top: FilmFullViews[];
  /** Lowest rate first (ties: more viewers first). */
  bottom: FilmFullViews[];
}

export interface EndpointPoint {
  t: string;
  endpoint: string;
  views: number;
}

export interface EndpointTotal {
  /** The catalog endpoint as events name it: `/api/v1/films/{film_id}`. */
  endpoint: string;
  views: number;
  /** Answers 400-499. */
  client_errors: number;
  /** Answers 500-599. */
  server_errors: number;
}

export interface PageViewChart extends ChartRange {
  bucket_seconds: number;
  /** Most viewed first. */
  endpoints: EndpointTotal[];
  /** Non-zero points only. */
  series: EndpointPoint[];
}

export interface SearchQueryCount {
  /** `films` or `persons`. */
  target: string;
  /** The query as typed, trimmed and in lower case. */
  query: string;
  searches: number;
  /** Searches that found nothing (result_count 0). */
  zero_results: number;
}

export interface SearchChart extends ChartRange {
  /** Most searched first. */
  top: SearchQueryCount[];
  /** Queries that found nothing at least once, most such searches first. */
  zero_results: SearchQueryCount[];
  /** Successful searches in the range, and those that found nothing. */
  searches: number;
  zero_result_searches: number;
}

export interface ActivePoint {
  t: string;
  viewers: number;
}

export interface ActiveViewersChart extends ChartRange {
  film_id?: string;
  bucket_seconds: number;
  /** Distinct viewers with any player event in each bucket; buckets without any are left out. */
  series: ActivePoint[];
  peak: number;
}

export interface FilmActivity {
  film_id: string;
  /** Player events (pauses, quality changes, full views) in the range. */
  events: number;
}

export interface FilmsChart extends ChartRange {
  /** Films with player events in the range, most events first (the film picker). */
  films: FilmActivity[];
}

/** The figures behind the analytics page, one method per chart endpoint. */
export interface ChartReader {
  pauseHeatmap(range: Range, filmId: string | undefined, films: number): Promise<PauseHeatmapChart>;
  qualitySwitches(range: Range, filmId: string | undefined): Promise<QualityChart>;
  fullViewRate(range: Range, limit: number, minViewers: number): Promise<FullViewChart>;
  pageViews(range: Range): Promise<PageViewChart>;
  searches(range: Range, limit: number): Promise<SearchChart>;
  activeViewers(range: Range, filmId: string | undefined): Promise<ActiveViewersChart>;
  films(range: Range, limit: number): Promise<FilmsChart>;
}
