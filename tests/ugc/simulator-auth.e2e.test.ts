/**
 * The simulator with logged-in viewers against the real auth service (its entry point as a
 * process, on the stack's PostgreSQL, Redis and RabbitMQ): the CLI registers and logs in its
 * viewers' accounts, they browse and search catalog-api (a small catalog indexed for the run)
 * and play films through the collector; `--soak` logs in an admin made with auth's
 * `createsuperuser` and finds every accepted event stored once; the same admin logs in to
 * ugc-etl's analytics page through auth and sees the searches the viewers made.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import type { Express } from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createClickHouse } from '@cinema/clickhouse';
import { Lifecycle } from '@cinema/http';
import { createLogger } from '@cinema/logging';
import { createPool } from '@cinema/pg';
import {
  deleteTopicsWithPrefix,
  freePort,
  runProcess,
  runServiceMain,
  TSX,
  waitFor,
  type RunningProcess,
} from '@cinema/testing';
import { buildApp as buildCatalog } from '../../services/catalog-api/src/app';
import { readConfig as catalogConfig } from '../../services/catalog-api/src/config';
import { wire as wireCatalog } from '../../services/catalog-api/src/wiring';
import { generateCatalog, IndexedCatalog } from '../../services/catalog-api/test/catalog-fixture';
import { buildApp as buildCollector } from '../../services/ugc-collector/src/app';
import { readConfig as collectorConfig } from '../../services/ugc-collector/src/config';
import { wire as wireCollector } from '../../services/ugc-collector/src/wiring';
import { buildApp as buildEtl } from '../../services/ugc-etl/src/app';
import { readConfig as etlConfig } from '../../services/ugc-etl/src/config';
import { wire as wireEtl } from '../../services/ugc-etl/src/wiring';

jest.setTimeout(300_000);

const root = path.resolve(__dirname, '../..');
const sfx = randomUUID().slice(0, 8);
const prefix = `e2e-sima-${sfx}.`;
const esPrefix = `e2e-sima-${sfx}-`;
const schema = `auth_e2e_sim_${sfx}`;
const database = `ugc_sima_${sfx}`;
const logger = createLogger({ service: 'simulator-auth-e2e', level: 'silent' });
const chdbPath = path.join(os.tmpdir(), `cinema-sima-chdb-${process.pid}-${sfx}`);
const report = path.join(os.tmpdir(), `cinema-sima-${sfx}.json`);
const analyst = { email: `analyst-${sfx}@example.com`, password: 'analyst password 12345' };
const seed = Number.parseInt(sfx, 16) % 1_000_000;

const authEnv = {
  DATABASE_URL: process.env.DATABASE_URL,
  REDIS_URL: process.env.REDIS_URL,
  AMQP_URL: process.env.AMQP_URL,
  AUTH_DB_SCHEMA: schema,
  RATE_LIMIT_PREFIX: `auth:e2e:${sfx}`,
  AUTH_EVENTS_EXCHANGE: `auth.events.e2e.${sfx}`,
  ARGON2_MEMORY_KIB: '4096',
  ARGON2_TIME_COST: '1',
};

const listen = (app: Express) =>
  new Promise<{ server: Server; url: string }>((resolve) => {
    const server = app.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    );
  });

describe('npm run simulate with logged-in viewers, through auth', () => {
  let auth: RunningProcess;
  let authUrl: string;
  const servers: Server[] = [];
  const lives = [new Lifecycle(logger), new Lifecycle(logger), new Lifecycle(logger)];
  const es = new Client({ node: process.env.ELASTICSEARCH_URL! });
  const redis = new Redis(process.env.REDIS_URL!, { lazyConnect: true });
  let index: IndexedCatalog;
  let etlApp: Express;
  const urls: Record<string, string> = {};

  beforeAll(async () => {
    const port = await freePort();
    authUrl = `http://127.0.0.1:${port}`;
    auth = runServiceMain(path.join(root, 'services/auth'), {
      HOME: process.env.HOME,
      LOG_LEVEL: 'warn',
      ...authEnv,
      PORT: String(port),
      HOST: '127.0.0.1',
    });
    await waitFor(
      async () => {
        if (auth.child.exitCode !== null) throw new Error(`auth exited:\n${auth.output()}`);
        return (await fetch(`${authUrl}/readyz`).catch(() => undefined))?.ok;
      },
      120_000,
      'auth ready',
    );
    execFileSync(
      TSX,
      ['src/cli.ts', 'createsuperuser', '--email', analyst.email, '--password-stdin'],
      {
        cwd: path.join(root, 'services/auth'),
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...authEnv, LOG_LEVEL: 'warn' },
        input: `${analyst.password}\n`,
      },
    );
    const common = {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: '1',
      KAFKA_TOPIC_REPLICATION: '1',
      AUTH_URL: authUrl,
    };
    await redis.connect();
    index = new IndexedCatalog(
      es,
      esPrefix,
      redis,
      `e2e-sima:${sfx}:generation`,
      generateCatalog({ films: 20, genres: 3, persons: 9, titles: ['Star River', 'Dark King'] }),
    );
    await index.load();
    const collector = await listen(
      buildCollector(
        await wireCollector({
          config: collectorConfig({ ...common, KAFKA_CLIENT_ID: 'sima-e2e' }),
          logger,
          lifecycle: lives[0]!,
        }),
      ),
    );
    const catalog = await listen(
      buildCatalog(
        await wireCatalog({
          config: catalogConfig({
            ...common,
            KAFKA_CLIENT_ID: 'sima-e2e-catalog',
            ELASTICSEARCH_URL: process.env.ELASTICSEARCH_URL,
            ES_INDEX_PREFIX: esPrefix,
            REDIS_URL: process.env.REDIS_URL,
            CACHE_KEY_PREFIX: `e2e-sima:${sfx}:cache:`,
            CACHE_GENERATION_KEY: `e2e-sima:${sfx}:generation`,
          }),
          logger,
          lifecycle: lives[1]!,
        }),
      ),
    );
    const etl = await wireEtl({
      config: etlConfig({
        ...common,
        KAFKA_CLIENT_ID: 'sima-e2e-etl',
        KAFKA_GROUP_ID: `sima-e2e-${sfx}`,
        CLICKHOUSE_URL: process.env.CLICKHOUSE_URL,
        CHDB_PATH: chdbPath,
        CLICKHOUSE_DATABASE: database,
        BATCH_MAX_ROWS: '1000',
        BATCH_MAX_WAIT_MS: '100',
      }),
      logger,
      lifecycle: lives[2]!,
    });
    await etl.loader.start();
    etlApp = buildEtl(etl);
    const etlServer = await listen(etlApp);
    servers.push(collector.server, catalog.server, etlServer.server);
    Object.assign(urls, { collector: collector.url, catalog: catalog.url, etl: etlServer.url });
  });

  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    for (const l of lives) await l.shutdown('test done');
    await auth?.stop();
    if (process.env.CLICKHOUSE_URL) {
      const ch = createClickHouse({ url: process.env.CLICKHOUSE_URL });
      await ch.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      await ch.close();
    } else fs.rmSync(chdbPath, { recursive: true, force: true });
    fs.rmSync(report, { force: true });
    await index?.drop();
    const keys = await redis.keys(`e2e-sima:${sfx}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await es.close();
    const pool = createPool(process.env.DATABASE_URL!, { max: 1 });
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
    await deleteTopicsWithPrefix(prefix);
  });

  it('registers and logs in its viewers, browses the catalog, and the soak check passes', async () => {
    const run = runProcess(
      process.execPath,
      [
        ...['--import', 'tsx', 'packages/simulator/src/cli.ts'],
        ...['--auth', authUrl, '--collector', urls.collector!, '--catalog', urls.catalog!],
        ...['--analytics', urls.etl!, '--logged-in', '1', '--accounts', '2', '--seed', `${seed}`],
        ...['--rate', '3', '--seconds', '6', '--session-seconds', '4', '--films', '10'],
        ...['--soak', '--soak-wait', '60', '--json', report, '--quiet'],
        ...['--analyst-email', analyst.email, '--analyst-password', analyst.password],
      ],
      { cwd: root, env: { ...process.env } },
    );
    const code = await run.exited;
    const out = run.output();
    expect([code, out]).toEqual([0, expect.stringContaining('soak           OK')]);
    expect(out).toContain('accounts: 2 of 2 logged in');
    const json = JSON.parse(fs.readFileSync(report, 'utf8')) as {
      events: Record<string, { sent: number; accepted: number }>;
      pageViews: Record<string, number>;
      status: Record<string, Record<string, number>>;
      soak: { ok: boolean; missing: number };
    };
    const views = Object.values(json.pageViews).reduce((n, v) => n + v, 0);
    expect(views).toBeGreaterThan(0);
    expect(json.status.catalog!['2xx']).toBe(views);
    const sent = Object.values(json.events).reduce((n, e) => n + e.sent, 0);
    expect(json.status.collector!['2xx']).toBe(sent);
    expect([json.soak.ok, json.soak.missing]).toEqual([true, 0]);

    // The same admin on the analytics page, logged in through auth: the viewers' page views.
    const agent = request.agent(etlApp);
    const form = await agent.get('/analytics/login');
    const csrf = /name="_csrf" value="([\w-]+)"/.exec(form.text)![1]!;
    const login = await agent
      .post('/analytics/login')
      .type('form')
      .send({ _csrf: csrf, ...analyst, next: '/analytics/?range=1' });
    expect([login.status, login.headers.location]).toEqual([303, '/analytics/?range=1']);
    const page = await waitFor(
      async () => {
        const res = await agent.get('/analytics/?range=1');
        return res.status === 200 && !res.text.includes('id="pageviews-empty"') ? res : undefined;
      },
      30_000,
      'page views on the page',
    );
    expect(page.text).toContain('/api/v1/films');
    expect(page.text).toContain(analyst.email);
  });
});
