/**
 * ClickHouse for the platform: one factory returning a `@clickhouse/client` client, either
 * talking HTTP to a real server or running the embedded ClickHouse engine (chDB) in-process.
 * Application code is the same on both: `insert({ format: 'JSONEachRow' })`,
 * `query({ query_params: { p: ... } })` with `{p:Type}` placeholders, `command` for DDL, `close`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  createClient,
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
} from '@clickhouse/client';

export type { ClickHouseClient } from '@clickhouse/client';

export interface ClickHouseOptions {
  /** Server URL (e.g. http://user:pass@127.0.0.1:8123/db). Default: `CLICKHOUSE_URL`. */
  url?: string;
  /** chDB data folder, used when there is no URL. Default: `CHDB_PATH`, else `.stack/data/chdb`. */
  path?: string;
  /** Extra client options (database, clickhouse_settings, request_timeout, ...). */
  client?: Omit<ClickHouseClientConfigOptions, 'url' | 'connection'>;
}

/**
 * Creates a ClickHouse client. With `options.url` or `CLICKHOUSE_URL` set it is the normal HTTP
 * client to that server. Otherwise it runs chDB (the `chdb` package) in this process, at
 * `options.path`, `CHDB_PATH` or `<repo>/.stack/data/chdb` (`$STACK_HOME/data/chdb`), plugged in
 * through the client's `connection` hook (`chdb/connection`).
 *
 * chDB is one engine per process and one process per data folder: only one process may open a
 * given chDB path at a time, and within a process only one on-disk path can be open at once
 * (clients on the same path share it). The path is released when its last client is closed.
 */
export function createClickHouse(options: ClickHouseOptions = {}): ClickHouseClient {
  // 64-bit integers as JSON strings on both backends (chDB's default differs from a server's).
  const client = {
    ...options.client,
    clickhouse_settings: {
      output_format_json_quote_64bit_integers: 1,
      ...options.client?.clickhouse_settings,
    },
  } satisfies ClickHouseClientConfigOptions;
  const url = options.url ?? process.env.CLICKHOUSE_URL;
  if (url) return createClient({ ...client, url });

  const dir = path.resolve(
    options.path ??
      process.env.CHDB_PATH ??
      (process.env.STACK_HOME
        ? path.join(process.env.STACK_HOME, 'data', 'chdb')
        : path.join(__dirname, '..', '..', '..', '.stack', 'data', 'chdb')),
  );
  fs.mkdirSync(dir, { recursive: true });
  // `chdb/connection` is reachable only through the package's `exports` map, which TypeScript's
  // `node` module resolution ignores; the types are taken from the file that map points at.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const chdb = require('chdb/connection') as typeof import('chdb/dist/connection');
  // The cast bridges chdb's `@clickhouse/client-common` typings and the copy of those types the
  // client bundles (1.23.0 vs 1.23.1: ClickHouseSettings differ slightly); the runtime contract is one.
  const connection = chdb.createChdbConnection({
    path: dir,
  }) as unknown as ClickHouseClientConfigOptions['connection'];
  return createClient({ ...client, connection });
}
