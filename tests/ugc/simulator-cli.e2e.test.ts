/**
 * The simulator's command line as a process (`npm run simulate` runs the same file, built):
 * anonymous viewers for a few seconds against the collector, ugc-etl loading them into
 * ClickHouse, then `--soak` reading them back through ugc-etl's read API; the summary, the JSON
 * report and the exit codes (0 when ClickHouse holds exactly what was accepted, 2 on bad options).
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Express } from 'express';
import { createClickHouse } from '@cinema/clickhouse';
import { Lifecycle } from '@cinema/http';
import { createLogger } from '@cinema/logging';
import {
  deleteTopicsWithPrefix,
  runProcess,
  startTestIssuer,
  type TestIssuer,
} from '@cinema/testing';
import { buildApp as buildCollector } from '../../services/ugc-collector/src/app';
import { readConfig as collectorConfig } from '../../services/ugc-collector/src/config';
import { wire as wireCollector } from '../../services/ugc-collector/src/wiring';
import { buildApp as buildEtl } from '../../services/ugc-etl/src/app';
import { readConfig as etlConfig } from '../../services/ugc-etl/src/config';
import { wire as wireEtl } from '../../services/ugc-etl/src/wiring';

jest.setTimeout(180_000);

const root = path.resolve(__dirname, '../..');
const suffix = randomUUID().slice(0, 8);
const prefix = `e2e-sim-${suffix}.`;
const database = `ugc_sim_${suffix}`;
const logger = createLogger({ service: 'simulator-e2e', level: 'silent' });
const chdbPath = path.join(os.tmpdir(), `cinema-sim-chdb-${process.pid}-${suffix}`);
const report = path.join(os.tmpdir(), `cinema-sim-${suffix}.json`);

const listen = (app: Express) =>
  new Promise<{ server: Server; url: string }>((resolve) => {
    const server = app.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    );
  });

const simulate = (args: string[], env: Record<string, string> = {}) =>
  runProcess(process.execPath, ['--import', 'tsx', 'packages/simulator/src/cli.ts', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
  });

describe('npm run simulate', () => {
  let issuer: TestIssuer;
  const servers: Server[] = [];
  const lives = [new Lifecycle(logger), new Lifecycle(logger)];
  let collectorUrl: string;
  let etlUrl: string;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    const common = {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: '1',
      KAFKA_TOPIC_REPLICATION: '1',
      AUTH_JWKS_URL: issuer.jwksUrl,
      JWT_ISSUER: issuer.issuer,
      JWT_AUDIENCE: issuer.audience,
    };
    const collector = await listen(
      buildCollector(
        await wireCollector({
          config: collectorConfig({ ...common, KAFKA_CLIENT_ID: 'simulator-e2e' }),
          logger,
          lifecycle: lives[0]!,
        }),
      ),
    );
    const etl = await wireEtl({
      config: etlConfig({
        ...common,
        KAFKA_CLIENT_ID: 'simulator-e2e-etl',
        KAFKA_GROUP_ID: `simulator-e2e-${suffix}`,
        CLICKHOUSE_URL: process.env.CLICKHOUSE_URL,
        CHDB_PATH: chdbPath,
        CLICKHOUSE_DATABASE: database,
        BATCH_MAX_ROWS: '1000',
        BATCH_MAX_WAIT_MS: '100',
      }),
      logger,
      lifecycle: lives[1]!,
    });
    await etl.loader.start();
    const etlServer = await listen(buildEtl(etl));
    servers.push(collector.server, etlServer.server);
    [collectorUrl, etlUrl] = [collector.url, etlServer.url];
  });

  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    for (const l of lives) await l.shutdown('test done');
    if (process.env.CLICKHOUSE_URL) {
      const ch = createClickHouse({ url: process.env.CLICKHOUSE_URL });
      await ch.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      await ch.close();
    } else fs.rmSync(chdbPath, { recursive: true, force: true });
    fs.rmSync(report, { force: true });
    await issuer?.close();
    await deleteTopicsWithPrefix(prefix);
  });

  it('plays anonymous sessions, prints the summary, and the soak check finds every event once', async () => {
    const analyst = await issuer.token(randomUUID(), ['admin']);
    const run = simulate(
      [
        ...['--collector', collectorUrl, '--analytics', etlUrl, '--catalog', 'http://127.0.0.1:9'],
        ...['--logged-in', '0', '--accounts', '0', '--rate', '4', '--seconds', '6'],
        ...['--session-seconds', '4', '--films', '5', '--seed', '9', '--bad-network', '0.5'],
        ...['--soak', '--soak-wait', '60', '--json', report, '--quiet'],
      ],
      { SIMULATOR_ANALYST_TOKEN: analyst },
    );
    const code = await run.exited;
    const out = run.output();
    expect([code, out]).toEqual([0, expect.stringContaining('soak           OK')]);
    const json = JSON.parse(fs.readFileSync(report, 'utf8')) as {
      sessions: number;
      events: Record<string, { sent: number; accepted: number }>;
      status: Record<string, Record<string, number>>;
      soak: { ok: boolean; missing: number; duplicates: number; rows: Array<{ stored: number }> };
    };
    const sent = Object.values(json.events).reduce((n, e) => n + e.sent, 0);
    const accepted = Object.values(json.events).reduce((n, e) => n + e.accepted, 0);
    expect(json.sessions).toBeGreaterThan(10);
    expect(json.events.pause!.accepted).toBeGreaterThan(0);
    expect(accepted).toBe(sent);
    expect(json.status.collector!['2xx']).toBe(sent);
    expect(json.status.catalog!['2xx']).toBe(0); // anonymous viewers do not browse
    expect([json.soak.ok, json.soak.missing, json.soak.duplicates]).toEqual([true, 0, 0]);
    expect(json.soak.rows.reduce((n, r) => n + r.stored, 0)).toBe(accepted);
    expect(out).toMatch(/player events {2}pause \d+\/\d+, quality_change \d+\/\d+, full_view/);
    expect(out).toMatch(/latency collector n=\d+ p50 [\d.]+ ms, p95/);
  });

  it('exits 2 on a bad option, naming it', async () => {
    const run = simulate(['--rate', 'lots']);
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain('--rate must be a number');
    const soak = simulate(['--soak', '--seconds', '1', '--logged-in', '0', '--quiet']);
    // --soak without an analyst account or token: refused before anything is sent.
    expect(await soak.exited).toBe(2);
    expect(soak.output()).toContain('--soak needs --analyst-email');
  });
});
