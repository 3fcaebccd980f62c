/**
 * The analytics page's rollups: small tables kept by materialized views as rows reach the event
 * tables, so each chart reads thousands of pre-aggregated rows instead of scanning millions of
 * events (docs/benchmarks.md has the figures).
 *
 * - Counts (`SummingMergeTree`, `SimpleAggregateFunction(sum)`) are of delivered rows: an event
 *   inserted twice (a redelivery after an ETL crash between insert and offset commit) is counted
 *   twice here, while the event tables (read with FINAL) hold it once. Distinct viewers are
 *   counted over a 64-bit hash of the viewer id (a collision is even odds only at about four
 *   billion viewers), from one row per film and viewer (`r_viewers_*`) or `uniqExact` states
 *   (`r_active_minutely`), which a duplicate cannot change.
 * - `t` is the start of the row's minute, hour or day (UTC): the chart API snaps its range to
 *   whole hours and reads the whole days of a range from the daily tables, its edges from the
 *   hourly ones (about 24 x fewer rows to read).
 * - On a cluster each rollup is a Replicated local table fed by views over the local event
 *   tables, with a Distributed table of the rollup's name over them; aggregate queries merge the
 *   shards' partial states.
 */
import { CLICK_TOPICS, PAGE_VIEW_ENDPOINTS, PAGE_VIEW_TOPICS } from '@cinema/kafka';

const PAUSES = CLICK_TOPICS.pause.table;
const FULL_VIEWS = CLICK_TOPICS.full_view.table;
const QUALITY = CLICK_TOPICS.quality_change.table;
export const PAGE_VIEW_TABLES = PAGE_VIEW_ENDPOINTS.map((e) => PAGE_VIEW_TOPICS[e].table);
/** The two search endpoints' tables (their `query` column is the searched text). */
export const SEARCH_TABLES = {
  films: PAGE_VIEW_TOPICS.search_films_by_keyword.table,
  persons: PAGE_VIEW_TOPICS.search_persons_by_keyword.table,
} as const;

export interface Rollup {
  table: string;
  /** Columns and engine after `CREATE TABLE IF NOT EXISTS db.table`; `t` is the period's start. */
  ddl: string;
  /** The SELECT of each feeding view, per source table (`{src}` = the source's full name). */
  feeds: Array<{ source: string; select: string }>;
}

/** The names a SELECT gives its columns (`x AS name`, or a bare column), in order. */
export function selectedColumns(select: string): string[] {
  const list = /^SELECT\s+([\s\S]*?)\s+FROM\s/i.exec(select)?.[1] ?? '';
  const out: string[] = [];
  let depth = 0;
  let item = '';
  for (const c of `${list},`) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      const t = item.trim();
      out.push(/\bAS\s+(\w+)$/i.exec(t)?.[1] ?? t);
      item = '';
    } else item += c;
  }
  return out;
}

type Grain = 'minute' | 'hour' | 'day';
const START: Record<Grain, string> = {
  minute: 'toStartOfMinute(event_time)',
  hour: 'toStartOfHour(event_time)',
  day: 'toStartOfDay(event_time)',
};
const SUFFIX: Record<Grain, string> = { minute: 'minutely', hour: 'hourly', day: 'daily' };

/** One rollup per grain: `<name>_<minutely|hourly|daily>`, `{t}` in the spec is the period start. */
function grains(name: string, of: Grain[], ddl: string, feeds: Rollup['feeds']): Rollup[] {
  return of.map((g) => ({
    table: `${name}_${SUFFIX[g]}`,
    ddl,
    feeds: feeds.map((f) => ({ ...f, select: f.select.replace('{t}', START[g]) })),
  }));
}

const SEARCH_SELECT = (target: string) =>
  `SELECT {t} AS t, '${target}' AS target, lower(trimBoth(query)) AS q, count() AS searches,
  countIf(result_count = 0) AS zero_results FROM {src}
  WHERE status_code >= 200 AND status_code < 300 AND q != '' GROUP BY t, q`;

export const ROLLUPS: readonly Rollup[] = [
  // Who watched which film in the hour (day): one row per film and viewer, with their event
  // counts and whether they finished. Distinct viewers (full-view rate, active viewers in hours)
  // are counts over plain columns, no states to merge; film rankings are sums. A range is read
  // as its whole days from the daily table plus the hours at its edges.
  ...grains(
    'r_viewers',
    ['hour', 'day'],
    `(
  t DateTime('UTC'),
  film_id UUID,
  viewer UInt64 COMMENT 'sipHash64(user_id)',
  finished SimpleAggregateFunction(max, UInt8),
  pauses SimpleAggregateFunction(sum, UInt64),
  quality_changes SimpleAggregateFunction(sum, UInt64),
  full_views SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(t)
ORDER BY (t, film_id, viewer)`,
    (
      [
        [PAUSES, 'pauses'],
        [QUALITY, 'quality_changes'],
        [FULL_VIEWS, 'full_views'],
      ] as const
    ).map(([source, counted]) => ({
      source,
      select: `SELECT {t} AS t, film_id, sipHash64(user_id) AS viewer,
  toUInt8(${source === FULL_VIEWS ? 1 : 0}) AS finished, count() AS ${counted}
  FROM {src} GROUP BY t, film_id, viewer`,
    })),
  ),
  // Pauses per film, hour (day) they happened and minute of the film (read per film).
  ...grains(
    'r_pauses',
    ['hour', 'day'],
    `(
  film_id UUID,
  t DateTime('UTC'),
  minute UInt32 COMMENT 'minute of the film (0 = the first)',
  pauses UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(t)
ORDER BY (film_id, t, minute)`,
    [
      {
        source: PAUSES,
        select: `SELECT film_id, {t} AS t,
  toUInt32(intDiv(toUInt64(position_sec), 60)) AS minute, count() AS pauses
  FROM {src} GROUP BY film_id, t, minute`,
      },
    ],
  ),
  ...grains(
    'r_quality',
    ['minute'],
    `(
  t DateTime('UTC'),
  from_quality LowCardinality(String),
  to_quality LowCardinality(String),
  switches UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(t)
ORDER BY (t, from_quality, to_quality)`,
    [
      {
        source: QUALITY,
        select: `SELECT {t} AS t, from_quality, to_quality,
  count() AS switches FROM {src} GROUP BY t, from_quality, to_quality`,
      },
    ],
  ),
  // Distinct viewers with any player event per minute (series in hours or more count the
  // viewers of r_viewers_hourly instead).
  ...grains(
    'r_active',
    ['minute'],
    `(
  t DateTime('UTC'),
  viewers AggregateFunction(uniqExact, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(t)
ORDER BY t`,
    [PAUSES, QUALITY, FULL_VIEWS].map((source) => ({
      source,
      select: `SELECT {t} AS t, uniqExactState(sipHash64(user_id)) AS viewers FROM {src} GROUP BY t`,
    })),
  ),
  ...grains(
    'r_page_views',
    ['minute'],
    `(
  t DateTime('UTC'),
  endpoint LowCardinality(String),
  views UInt64,
  client_errors UInt64,
  server_errors UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(t)
ORDER BY (t, endpoint)`,
    PAGE_VIEW_TABLES.map((source) => ({
      source,
      select: `SELECT {t} AS t, endpoint, count() AS views,
  countIf(status_code >= 400 AND status_code < 500) AS client_errors,
  countIf(status_code >= 500) AS server_errors FROM {src} GROUP BY t, endpoint`,
    })),
  ),
  // Successful searches per query (trimmed, lower case), and those that found nothing.
  ...grains(
    'r_searches',
    ['hour', 'day'],
    `(
  t DateTime('UTC'),
  target LowCardinality(String) COMMENT 'films or persons',
  q String,
  searches UInt64,
  zero_results UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(t)
ORDER BY (t, target, q)`,
    Object.entries(SEARCH_TABLES).map(([target, source]) => ({
      source,
      select: SEARCH_SELECT(target),
    })),
  ),
];

/** Columns added to tables made before they existed (ADD COLUMN IF NOT EXISTS). */
export const ADDED_COLUMNS: ReadonlyArray<{ table: string; column: string }> = PAGE_VIEW_TABLES.map(
  (table) => ({
    table,
    column: `result_count Nullable(UInt32) COMMENT 'matches in all pages (list and search endpoints)'`,
  }),
);

export const viewName = (rollup: string, source: string) => `mv_${rollup}__${source}`;

export interface RollupStatements {
  /** ALTERs of the event tables, run every start (idempotent). */
  upgrade: string[];
  /** Per rollup: its table(s), its views, and the back-fill from the event tables. */
  rollups: Array<{ table: string; create: string[]; backfill: string[] }>;
}

/**
 * The statements for `database` (on `cluster` when given). The back-fill (the event tables'
 * current rows, read with FINAL) is meant to run only when the rollup table was just created, before
 * the consumer starts.
 */
export function rollupStatements(database: string, cluster?: string): RollupStatements {
  const on = cluster ? ` ON CLUSTER '${cluster}'` : '';
  const local = (t: string) => (cluster ? `${t}_local` : t);
  const upgrade = ADDED_COLUMNS.flatMap(({ table, column }) =>
    (cluster ? [local(table), table] : [table]).map(
      (t) => `ALTER TABLE ${database}.${t}${on} ADD COLUMN IF NOT EXISTS ${column}`,
    ),
  );
  const rollups = ROLLUPS.map((r) => {
    const target = local(r.table);
    const engine = cluster
      ? r.ddl.replace(
          /ENGINE = (\w+)/,
          `ENGINE = Replicated$1('/clickhouse/tables/{shard}/${database}/${target}', '{replica}')`,
        )
      : r.ddl;
    const create = [`CREATE TABLE IF NOT EXISTS ${database}.${target}${on} ${engine}`];
    if (cluster)
      create.push(
        `CREATE TABLE IF NOT EXISTS ${database}.${r.table}${on} AS ${database}.${target}\nENGINE = Distributed('${cluster}', '${database}', '${target}', rand())`,
      );
    for (const f of r.feeds)
      create.push(
        `CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.${viewName(r.table, f.source)}${on} TO ${database}.${target}\nAS ${f.select.replace('{src}', `${database}.${local(f.source)}`)}`,
      );
    // The back-fill reads the deduplicated events (FINAL). On a cluster it would have to run on
    // every shard: none is made there (the rollups start with the views).
    const backfill = cluster
      ? []
      : r.feeds.map(
          (f) =>
            `INSERT INTO ${database}.${target} (${selectedColumns(f.select).join(', ')}) ${f.select.replace('{src}', `${database}.${f.source} FINAL`)}`,
        );
    return { table: r.table, create, backfill };
  });
  return { upgrade, rollups };
}
