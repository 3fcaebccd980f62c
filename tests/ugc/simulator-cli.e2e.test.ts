/**
 * The simulator's command line as a process (`npm run simulate` runs the same file, built):
 * anonymous viewers for a few seconds against the collector, ugc-etl loading them into
 * ClickHouse, then `--soak` reading them back through ugc-etl's read API; the summary, the JSON
 * report and the exit codes (0 when ClickHouse holds exactly what was accepted, 2 on bad options).
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProcess, startTestIssuer, suffix, type TestIssuer } from '@cinema/testing';
import { issuerEnv, startPipeline, type Pipeline } from './pipeline';

jest.setTimeout(180_000);

const root = path.resolve(__dirname, '../..');
const report = path.join(os.tmpdir(), `cinema-sim-${suffix()}.json`);

const simulate = (args: string[], env: Record<string, string> = {}) =>
  runProcess(process.execPath, ['--import', 'tsx', 'packages/simulator/src/cli.ts', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
  });

describe('npm run simulate', () => {
  let issuer: TestIssuer;
  let pipeline: Pipeline;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    pipeline = await startPipeline({ name: 'simulator-e2e', tag: 'sim', auth: issuerEnv(issuer) });
  });

  afterAll(async () => {
    await pipeline?.close();
    fs.rmSync(report, { force: true });
    await issuer?.close();
  });

  it('plays anonymous sessions, prints the summary, and the soak check finds every event once', async () => {
    const analyst = await issuer.token(randomUUID(), ['admin']);
    const run = simulate(
      [
        ...['--collector', pipeline.collector.url, '--analytics', pipeline.etl.url],
        ...['--catalog', 'http://127.0.0.1:9'],
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
