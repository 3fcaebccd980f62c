/** Builds the auth service in-process on a private schema and Redis prefix (test isolation). */
import { Writable } from 'node:stream';
import type { Express } from 'express';
import { Lifecycle } from '@cinema/http';
import { createLogger } from '@cinema/logging';
import { suffix } from '@cinema/testing';
import { buildApp } from '../src/app';
import { readConfig, type Config } from '../src/config';
import { wireAdapters, wireDependencies, type Adapters, type Dependencies } from '../src/wiring';

export { suffix };

export interface TestService {
  app: Express;
  /** The adapters the tests look behind (pool, Redis, publisher, keys). */
  c: Adapters;
  deps: Dependencies;
  config: Readonly<Config>;
  schema: string;
  logs: string[];
  close(): Promise<void>;
}

export async function startService(env: Record<string, string> = {}): Promise<TestService> {
  const schema = env.AUTH_DB_SCHEMA ?? `auth_t_${suffix()}`;
  const config = readConfig({
    ...process.env,
    AUTH_DB_SCHEMA: schema,
    RATE_LIMIT_PREFIX: `auth:test:${schema}`,
    LOG_LEVEL: 'info',
    // Cheap hashes keep the tests fast; the cost is configuration, not code.
    ARGON2_MEMORY_KIB: '4096',
    ARGON2_TIME_COST: '1',
    OUTBOX_POLL_MS: '100',
    AUTH_EVENTS_EXCHANGE: `auth.events.test.${schema}`,
    ...env,
  });
  const logs: string[] = [];
  const logger = createLogger({
    service: 'auth-test',
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _e, done) {
        logs.push(chunk.toString());
        done();
      },
    }),
  });
  // The service's own wiring; its shutdown hooks run on close() as they would on SIGTERM.
  const lifecycle = new Lifecycle(logger, 10_000);
  const runtime = { config, logger, lifecycle };
  let c: Adapters;
  try {
    c = await wireAdapters(runtime);
  } catch (err) {
    await lifecycle.shutdown('wiring failed');
    throw err;
  }
  const deps = wireDependencies(c, runtime);
  return {
    app: buildApp(deps),
    c,
    deps,
    config,
    schema,
    logs,
    close: () => lifecycle.shutdown('test done'),
  };
}

export async function dropSchema(schema: string): Promise<void> {
  const { createPool } = await import('@cinema/pg');
  const pool = createPool(process.env.DATABASE_URL!, { max: 1 });
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
}

export const UA = {
  chrome:
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  firefox: 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  iphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  tv: 'Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0 TV Safari/537.36',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1',
};
