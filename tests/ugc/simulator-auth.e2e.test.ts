/**
 * The simulator with logged-in viewers against the real auth service (its entry point as a
 * process, on the stack's PostgreSQL, Redis and RabbitMQ): the CLI registers and logs in its
 * viewers' accounts, they browse and search catalog-api (a small catalog indexed for the run)
 * and play films through the collector; `--soak` logs in an admin made with auth's
 * `createsuperuser` and finds every accepted event stored once; the same admin logs in to
 * ugc-etl's analytics page through auth and sees the searches the viewers made.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { createPool } from '@cinema/pg';
import {
  authTestEnv,
  createSuperuser,
  runProcess,
  startServiceMain,
  suffix,
  waitFor,
  type ServiceProcess,
} from '@cinema/testing';
import { startPipeline, type Pipeline } from './pipeline';

jest.setTimeout(300_000);

const root = path.resolve(__dirname, '../..');
const sfx = suffix();
const report = path.join(os.tmpdir(), `cinema-sima-${sfx}.json`);
const analyst = { email: `analyst-${sfx}@example.com`, password: 'analyst password 12345' };
const seed = Number.parseInt(sfx, 36) % 1_000_000;
const authEnv = authTestEnv(`sim_${sfx}`);

describe('npm run simulate with logged-in viewers, through auth', () => {
  let auth: ServiceProcess;
  let pipeline: Pipeline;
  const urls: Record<string, string> = {};

  beforeAll(async () => {
    auth = await startServiceMain(path.join(root, 'services/auth'), authEnv);
    createSuperuser(path.join(root, 'services/auth'), authEnv, analyst);
    pipeline = await startPipeline({
      name: 'sima-e2e',
      tag: 'sima',
      suffix: sfx,
      // The collector, catalog-api and ugc-etl check tokens with auth's JWKS.
      auth: { AUTH_URL: auth.url },
      catalog: { films: 20, genres: 3, persons: 9, titles: ['Star River', 'Dark King'] },
    });
    Object.assign(urls, {
      auth: auth.url,
      collector: pipeline.collector.url,
      catalog: pipeline.catalog!.url,
      etl: pipeline.etl.url,
    });
  });

  afterAll(async () => {
    await pipeline?.close();
    await auth?.stop();
    fs.rmSync(report, { force: true });
    const pool = createPool(process.env.DATABASE_URL!, { max: 1 });
    await pool.query(`DROP SCHEMA IF EXISTS "${authEnv.AUTH_DB_SCHEMA}" CASCADE`);
    await pool.end();
  });

  it('registers and logs in its viewers, browses the catalog, and the soak check passes', async () => {
    const run = runProcess(
      process.execPath,
      [
        ...['--import', 'tsx', 'packages/simulator/src/cli.ts'],
        ...['--auth', urls.auth!, '--collector', urls.collector!, '--catalog', urls.catalog!],
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
    const agent = request.agent(pipeline.etl.app);
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
