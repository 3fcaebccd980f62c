/**
 * The analytics page's queries. Over the whole catalog they read the rollups of
 * domain/rollups.ts (kept by materialized views); for one film they read the per-film rollups or
 * the event tables, whose sorting key starts with film_id, as delivered (no FINAL: counts are of
 * delivered rows, as in the rollups; distinct viewers cannot be doubled). Every value is a bound
 * parameter.
 */
import type { ClickHouseClient } from '@cinema/clickhouse';
import { CLICK_TOPICS } from '@cinema/kafka';
import { resolution } from '../domain/analytics';
import {
  rangeOf,
  type ActiveViewersChart,
  type ChartReader,
  type FilmsChart,
  type FullViewChart,
  type PageViewChart,
  type PauseHeatmapChart,
  type QualityChart,
  type QualityPairCount,
  type Range,
  type SearchChart,
  type SearchQueryCount,
} from '../domain/charts';

const PAUSES = CLICK_TOPICS.pause.table;
const FULL_VIEWS = CLICK_TOPICS.full_view.table;
const QUALITY = CLICK_TOPICS.quality_change.table;

/** ClickHouse `DateTime` text of a Date (UTC, whole seconds). */
const chSeconds = (d: Date) => d.toISOString().slice(0, 19).replace('T', ' ');
/** `2026-01-02 03:04:00` (UTC) -> ISO 8601. */
const iso = (text: string) => `${text.replace(' ', 'T')}Z`;
const n = (v: string | number | null | undefined) => Number(v ?? 0);

export class ChartsRepository implements ChartReader {
  constructor(
    private readonly ch: ClickHouseClient,
    private readonly db: string,
  ) {}

  private async rows<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    const result = await this.ch.query({ query, query_params: params, format: 'JSONEachRow' });
    return result.json<T>();
  }

  private params(range: Range, extra: Record<string, unknown> = {}) {
    // The whole days inside the range [d0, d1) come from daily rollups, the hours at its edges
    // from hourly ones (d0 = d1 = to when the range holds no whole day).
    const DAY = 86_400_000;
    let d0 = Math.ceil(range.from.getTime() / DAY) * DAY;
    let d1 = Math.floor(range.to.getTime() / DAY) * DAY;
    if (d0 >= d1) d0 = d1 = range.to.getTime();
    return {
      from: chSeconds(range.from),
      to: chSeconds(range.to),
      d0: chSeconds(new Date(d0)),
      d1: chSeconds(new Date(d1)),
      bucket: range.bucket,
      ...extra,
    };
  }

  /** `columns` of rollup `name` over the range: its daily rows for whole days, hourly for the rest. */
  private span(name: string, columns: string, where = '1') {
    return `(SELECT ${columns} FROM ${this.db}.${name}_daily
       WHERE t >= {d0:DateTime} AND t < {d1:DateTime} AND ${where}
       UNION ALL
       SELECT ${columns} FROM ${this.db}.${name}_hourly
       WHERE ((t >= {from:DateTime} AND t < {d0:DateTime}) OR (t >= {d1:DateTime} AND t < {to:DateTime}))
         AND ${where})`;
  }

  async pauseHeatmap(
    range: Range,
    filmId: string | undefined,
    films: number,
  ): Promise<PauseHeatmapChart> {
    const p = this.params(range, { film: filmId ?? '', films });
    const top = await this.rows<{ film: string; pauses: string }>(
      filmId
        ? `SELECT toString(film_id) AS film, sum(pauses) AS pauses
           FROM ${this.span('r_viewers', 'film_id, pauses', 'film_id = {film:UUID}')}
           GROUP BY film`
        : `SELECT toString(film_id) AS film, sum(pauses) AS pauses
           FROM ${this.span('r_viewers', 'film_id, pauses')}
           GROUP BY film HAVING pauses > 0
           ORDER BY pauses DESC, film LIMIT {films:UInt32}`,
      p,
    );
    const shown = filmId
      ? [{ film_id: filmId, pauses: n(top[0]?.pauses) }]
      : top.map((f) => ({ film_id: f.film, pauses: n(f.pauses) }));
    const cells = shown.length
      ? await this.rows<{ film: string; minute: number; pauses: string }>(
          `SELECT toString(film_id) AS film, minute, sum(pauses) AS pauses
           FROM ${this.span('r_pauses', 'film_id, minute, pauses', 'film_id IN {films_in:Array(UUID)}')}
           GROUP BY film, minute HAVING pauses > 0 ORDER BY film, minute`,
          { ...p, films_in: shown.map((f) => f.film_id) },
        )
      : [];
    return {
      ...rangeOf(range),
      films: shown,
      cells: cells.map((c) => ({ film_id: c.film, minute: n(c.minute), pauses: n(c.pauses) })),
    };
  }

  async qualitySwitches(range: Range, filmId: string | undefined): Promise<QualityChart> {
    const p = this.params(range, { film: filmId ?? '' });
    // One film: its events (sorting key film_id; rows as delivered, as the rollups count them);
    // all films: the per-minute rollup.
    const source = filmId
      ? `(SELECT toStartOfMinute(event_time) AS minute, from_quality, to_quality, 1 AS switches
          FROM ${this.db}.${QUALITY}
          WHERE film_id = {film:UUID} AND event_time >= {from:DateTime} AND event_time < {to:DateTime})`
      : `(SELECT t AS minute, from_quality, to_quality, switches FROM ${this.db}.r_quality_minutely
          WHERE t >= {from:DateTime} AND t < {to:DateTime})`;
    const rows = await this.rows<{
      t: string;
      from_quality: string;
      to_quality: string;
      switches: string;
    }>(
      `SELECT toString(toStartOfInterval(minute, toIntervalSecond({bucket:UInt32}))) AS t,
              from_quality, to_quality, sum(switches) AS switches
       FROM ${source}
       GROUP BY t, from_quality, to_quality ORDER BY t, from_quality, to_quality`,
      p,
    );
    const series = new Map<string, { t: string; up: number; down: number }>();
    const pairs = new Map<string, QualityPairCount>();
    let up = 0;
    let down = 0;
    for (const r of rows) {
      const count = n(r.switches);
      const direction = directionOf(r.from_quality, r.to_quality);
      const key = `${r.from_quality}\u0000${r.to_quality}`;
      const pair = pairs.get(key) ?? {
        from_quality: r.from_quality,
        to_quality: r.to_quality,
        direction,
        count: 0,
      };
      pair.count += count;
      pairs.set(key, pair);
      if (direction === 'same') continue;
      const point = series.get(r.t) ?? { t: iso(r.t), up: 0, down: 0 };
      point[direction] += count;
      series.set(r.t, point);
      if (direction === 'up') up += count;
      else down += count;
    }
    return {
      ...rangeOf(range),
      ...(filmId && { film_id: filmId }),
      bucket_seconds: range.bucket,
      up,
      down,
      series: [...series.values()],
      pairs: [...pairs.values()].sort(
        (a, b) => b.count - a.count || a.from_quality.localeCompare(b.from_quality),
      ),
    };
  }

  async fullViewRate(range: Range, limit: number, minViewers: number): Promise<FullViewChart> {
    // One pass over the viewings of the range; both rankings are made here.
    const rows = await this.rows<{ film: string; viewers: string; full_viewers: string }>(
      `SELECT toString(film_id) AS film, uniqExact(viewer) AS viewers,
              uniqExactIf(viewer, finished = 1) AS full_viewers
       FROM ${this.span('r_viewers', 'film_id, viewer, finished')}
       GROUP BY film HAVING viewers >= greatest({min:UInt32}, 1)`,
      this.params(range, { min: minViewers }),
    );
    const films = rows.map((r) => {
      const viewers = n(r.viewers);
      const full = n(r.full_viewers);
      return { film_id: r.film, viewers, full_viewers: full, rate: full / viewers };
    });
    const rank = (sign: 1 | -1) =>
      [...films]
        .sort(
          (a, b) =>
            sign * (b.rate - a.rate) || b.viewers - a.viewers || a.film_id.localeCompare(b.film_id),
        )
        .slice(0, limit);
    return { ...rangeOf(range), min_viewers: minViewers, top: rank(1), bottom: rank(-1) };
  }

  async pageViews(range: Range): Promise<PageViewChart> {
    const p = this.params(range);
    const [series, totals] = await Promise.all([
      this.rows<{ at: string; endpoint: string; views: string }>(
        `SELECT toString(toStartOfInterval(t, toIntervalSecond({bucket:UInt32}))) AS at,
                endpoint, sum(views) AS views
         FROM ${this.db}.r_page_views_minutely
         WHERE t >= {from:DateTime} AND t < {to:DateTime}
         GROUP BY at, endpoint HAVING views > 0 ORDER BY at, endpoint`,
        p,
      ),
      this.rows<{ endpoint: string; views: string; client_errors: string; server_errors: string }>(
        `SELECT endpoint, sum(views) AS views, sum(client_errors) AS client_errors,
                sum(server_errors) AS server_errors
         FROM ${this.db}.r_page_views_minutely
         WHERE t >= {from:DateTime} AND t < {to:DateTime}
         GROUP BY endpoint HAVING views > 0 ORDER BY views DESC, endpoint`,
        p,
      ),
    ]);
    return {
      ...rangeOf(range),
      bucket_seconds: range.bucket,
      endpoints: totals.map((t) => ({
        endpoint: t.endpoint,
        views: n(t.views),
        client_errors: n(t.client_errors),
        server_errors: n(t.server_errors),
      })),
      series: series.map((s) => ({ t: iso(s.at), endpoint: s.endpoint, views: n(s.views) })),
    };
  }

  async searches(range: Range, limit: number): Promise<SearchChart> {
    const p = this.params(range, { limit });
    // Successful searches of both search endpoints, per query, from the rollups.
    const grouped = `(SELECT target, q AS query, sum(searches) AS searches,
        sum(zero_results) AS zero_results
      FROM ${this.span('r_searches', 'target, q, searches, zero_results')}
      GROUP BY target, q)`;
    type Row = { target: string; query: string; searches: string; zero_results: string };
    const [top, zero, totals] = await Promise.all([
      this.rows<Row>(
        `SELECT * FROM ${grouped} ORDER BY searches DESC, target, query LIMIT {limit:UInt32}`,
        p,
      ),
      this.rows<Row>(
        `SELECT * FROM ${grouped} WHERE zero_results > 0
         ORDER BY zero_results DESC, target, query LIMIT {limit:UInt32}`,
        p,
      ),
      this.rows<{ searches: string; zero: string }>(
        `SELECT sum(searches) AS searches, sum(zero_results) AS zero
         FROM ${this.span('r_searches', 'searches, zero_results')}`,
        p,
      ),
    ]);
    const asCount = (r: Row): SearchQueryCount => ({
      target: r.target,
      query: r.query,
      searches: n(r.searches),
      zero_results: n(r.zero_results),
    });
    return {
      ...rangeOf(range),
      top: top.map(asCount),
      zero_results: zero.map(asCount),
      searches: n(totals[0]?.searches),
      zero_result_searches: n(totals[0]?.zero),
    };
  }

  async activeViewers(range: Range, filmId: string | undefined): Promise<ActiveViewersChart> {
    const p = this.params(range, { film: filmId ?? '' });
    const bucket = 'toIntervalSecond({bucket:UInt32})';
    // Distinct viewers: a redelivered event cannot change them, so no FINAL is needed.
    const rows = await this.rows<{ at: string; viewers: string }>(
      range.bucket >= 3600
        ? // Hours or more: the viewers of each hour (one film's or all).
          `SELECT toString(toStartOfInterval(t, ${bucket})) AS at, uniqExact(viewer) AS viewers
           FROM ${this.db}.r_viewers_hourly
           WHERE t >= {from:DateTime} AND t < {to:DateTime}
             ${filmId ? 'AND film_id = {film:UUID}' : ''}
           GROUP BY at ORDER BY at`
        : filmId
          ? // One film in minutes (at most 125 hours): its events (sorting key film_id).
            `SELECT toString(toStartOfInterval(et, ${bucket})) AS at, uniqExact(user_id) AS viewers
             FROM (${[PAUSES, QUALITY, FULL_VIEWS]
               .map(
                 (t) =>
                   `SELECT toDateTime(event_time) AS et, user_id FROM ${this.db}.${t}
                    WHERE film_id = {film:UUID}
                      AND event_time >= {from:DateTime} AND event_time < {to:DateTime}`,
               )
               .join(' UNION ALL ')})
             GROUP BY at ORDER BY at`
          : // All films in minutes: the minute states.
            `SELECT toString(toStartOfInterval(t, ${bucket})) AS at, uniqExactMerge(viewers) AS viewers
             FROM ${this.db}.r_active_minutely
             WHERE t >= {from:DateTime} AND t < {to:DateTime}
             GROUP BY at ORDER BY at`,
      p,
    );
    const series = rows.map((r) => ({ t: iso(r.at), viewers: n(r.viewers) }));
    return {
      ...rangeOf(range),
      ...(filmId && { film_id: filmId }),
      bucket_seconds: range.bucket,
      series,
      peak: series.reduce((m, s) => Math.max(m, s.viewers), 0),
    };
  }

  async films(range: Range, limit: number): Promise<FilmsChart> {
    const rows = await this.rows<{ film: string; events: string }>(
      `SELECT toString(film_id) AS film,
              sum(pauses) + sum(quality_changes) + sum(full_views) AS events
       FROM ${this.span('r_viewers', 'film_id, pauses, quality_changes, full_views')}
       GROUP BY film ORDER BY events DESC, film LIMIT {limit:UInt32}`,
      this.params(range, { limit }),
    );
    return {
      ...rangeOf(range),
      films: rows.map((r) => ({ film_id: r.film, events: n(r.events) })),
    };
  }
}

function directionOf(from: string, to: string): 'up' | 'down' | 'same' {
  const a = resolution(from);
  const b = resolution(to);
  return b > a ? 'up' : b < a ? 'down' : 'same';
}
