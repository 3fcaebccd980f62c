/**
 * What ugc-etl loads: each consumed topic, the ClickHouse table it goes to (both from the topic
 * declarations of @cinema/kafka, docs/contracts.md as code), the table's DDL, and the parser that
 * turns a Kafka value into a row or says why it cannot.
 *
 * Tables are ReplacingMergeTree partitioned by month of the event time and ordered by a key that
 * ends with `event_id`: an event delivered twice (a player retry, a redelivery after an ETL crash)
 * has the same key and collapses into one row; queries read with FINAL.
 */
import {
  CLICK_TOPICS,
  DEAD_LETTER_TOPIC as DEAD_LETTERS,
  PAGE_VIEW_ENDPOINTS,
  PAGE_VIEW_TOPICS,
  type PageViewEndpoint,
} from '@cinema/kafka';
import { z } from 'zod';

/** Where unparseable messages go (without the prefix). */
export const DEAD_LETTER_TOPIC = DEAD_LETTERS.name;

const uuid = z.string().uuid();
const time = z
  .string()
  .min(1)
  .refine((v) => !Number.isNaN(Date.parse(v)), 'not an ISO 8601 time');
const seconds = z.number().finite().min(0).max(172_800);

/** ClickHouse DateTime64(3) text in UTC: `2025-01-02 03:04:05.678`. */
export function chTime(iso: string): string {
  return new Date(iso).toISOString().replace('T', ' ').replace('Z', '');
}

const clickBase = {
  event_id: uuid,
  user_id: z.string().min(1).max(128),
  film_id: uuid,
  client_time: time,
  received_time: time,
};

const pause = z.object({ ...clickBase, position_sec: seconds });
const fullView = z.object({ ...clickBase, duration_sec: seconds });
const qualityChange = z.object({
  ...clickBase,
  from_quality: z.string().min(1).max(16),
  to_quality: z.string().min(1).max(16),
  position_sec: seconds,
});
const pageView = z.object({
  event_id: uuid,
  user_id: z.string().max(128),
  endpoint: z.string().min(1).max(256),
  params: z.record(z.string(), z.string()).default({}),
  status_code: z.number().int().min(100).max(599),
  event_time: time,
  /** Matches in all pages, for the list and search endpoints (absent in older events). */
  result_count: z.number().int().min(0).max(4_294_967_295).optional(),
});

export type Row = Record<string, unknown>;

export interface TableSpec {
  /** Topic name without the prefix. */
  topic: string;
  table: string;
  /** Columns and engine clauses after `CREATE TABLE IF NOT EXISTS db.table`. */
  ddl: string;
  /** The row to insert; throws with a reason when the value is not a valid event. */
  parse(value: unknown): Row;
}

const clickColumns = `
  event_id UUID,
  user_id String,
  film_id UUID,
  event_time DateTime64(3, 'UTC') COMMENT 'client time of the event',
  received_time DateTime64(3, 'UTC') COMMENT 'when the collector received it'`;
const clickEngine = `
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (film_id, event_id)`;

function clickRow(v: z.infer<typeof pause> | z.infer<typeof fullView>): Row {
  return {
    event_id: v.event_id,
    user_id: v.user_id,
    film_id: v.film_id,
    event_time: chTime(v.client_time),
    received_time: chTime(v.received_time),
  };
}

function strict<T extends z.ZodTypeAny>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${issue.path.join('.') || 'value'}: ${issue.message}`);
  }
  return parsed.data as z.infer<T>;
}

/** The sorting key of each page-view table (every declared endpoint has one). */
const PAGE_VIEW_ORDER: Record<PageViewEndpoint, string> = {
  get_films: 'toDate(event_time), event_id',
  get_film_by_id: 'film_id, event_id',
  search_films_by_keyword: 'toDate(event_time), event_id',
  get_genres: 'toDate(event_time), event_id',
  get_genre_by_id: 'genre_id, event_id',
  get_person_by_id: 'person_id, event_id',
  search_persons_by_keyword: 'toDate(event_time), event_id',
};

export const TABLES: readonly TableSpec[] = [
  {
    topic: CLICK_TOPICS.pause.name,
    table: CLICK_TOPICS.pause.table,
    ddl: `(${clickColumns},
  position_sec Float64
)${clickEngine}`,
    parse: (value) => {
      const v = strict(pause, value);
      return { ...clickRow(v), position_sec: v.position_sec };
    },
  },
  {
    topic: CLICK_TOPICS.full_view.name,
    table: CLICK_TOPICS.full_view.table,
    ddl: `(${clickColumns},
  duration_sec Float64
)${clickEngine}`,
    parse: (value) => {
      const v = strict(fullView, value);
      return { ...clickRow(v), duration_sec: v.duration_sec };
    },
  },
  {
    topic: CLICK_TOPICS.quality_change.name,
    table: CLICK_TOPICS.quality_change.table,
    ddl: `(${clickColumns},
  from_quality LowCardinality(String),
  to_quality LowCardinality(String),
  position_sec Float64
)${clickEngine}`,
    parse: (value) => {
      const v = strict(qualityChange, value);
      return {
        ...clickRow(v),
        from_quality: v.from_quality,
        to_quality: v.to_quality,
        position_sec: v.position_sec,
      };
    },
  },
  ...PAGE_VIEW_ENDPOINTS.map((endpoint): TableSpec => ({
    topic: PAGE_VIEW_TOPICS[endpoint].name,
    table: PAGE_VIEW_TOPICS[endpoint].table,
    ddl: `(
  event_id UUID,
  user_id String,
  film_id String COMMENT 'params.film_id, empty when the endpoint has none',
  genre_id String,
  person_id String,
  query String,
  endpoint LowCardinality(String),
  params Map(String, String),
  status_code UInt16,
  event_time DateTime64(3, 'UTC'),
  result_count Nullable(UInt32) COMMENT 'matches in all pages (list and search endpoints)'
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (${PAGE_VIEW_ORDER[endpoint]})`,
    parse: (value) => {
      const v = strict(pageView, value);
      return {
        event_id: v.event_id,
        user_id: v.user_id,
        film_id: v.params.film_id ?? '',
        genre_id: v.params.genre_id ?? '',
        person_id: v.params.person_id ?? '',
        query: v.params.query ?? '',
        endpoint: v.endpoint,
        params: v.params,
        status_code: v.status_code,
        event_time: chTime(v.event_time),
        result_count: v.result_count ?? null,
      };
    },
  })),
];

/**
 * The DDL of the database and every table. On one server: `CREATE TABLE db.table (...) ENGINE =
 * ReplacingMergeTree ...`. On a cluster: the same columns in `db.table_local` ON CLUSTER with
 * ReplicatedReplacingMergeTree (Keeper path per shard, `{shard}`/`{replica}` macros of the
 * Altinity operator), and `db.table` ON CLUSTER as a Distributed table over the local ones,
 * sharded by cityHash64(event_id) so a redelivered event lands on its twin's shard and FINAL
 * still collapses it. The services insert into and read from `db.table` either way.
 */
export function schemaStatements(database: string, cluster?: string): string[] {
  if (!cluster) {
    return [
      `CREATE DATABASE IF NOT EXISTS ${database}`,
      ...TABLES.map((spec) => `CREATE TABLE IF NOT EXISTS ${database}.${spec.table} ${spec.ddl}`),
    ];
  }
  const on = `ON CLUSTER '${cluster}'`;
  const statements = [`CREATE DATABASE IF NOT EXISTS ${database} ${on}`];
  for (const spec of TABLES) {
    const local = `${spec.table}_local`;
    const replicated = spec.ddl.replace(
      /ENGINE = ReplacingMergeTree\b/,
      `ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/${database}/${local}', '{replica}')`,
    );
    if (replicated === spec.ddl)
      throw new Error(`${spec.table}: no ReplacingMergeTree engine to replicate`);
    statements.push(
      `CREATE TABLE IF NOT EXISTS ${database}.${local} ${on} ${replicated}`,
      `CREATE TABLE IF NOT EXISTS ${database}.${spec.table} ${on} AS ${database}.${local}\nENGINE = Distributed('${cluster}', '${database}', '${local}', cityHash64(event_id))`,
    );
  }
  return statements;
}

/** Parses a Kafka value (bytes) for a table; throws with the reason. */
export function parseMessage(spec: TableSpec, raw: Buffer | null): Row {
  if (!raw || raw.length === 0) throw new Error('empty value');
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new Error('value is not JSON');
  }
  return spec.parse(json);
}
