/**
 * The ops pages over HTTP against the real stack's Jaeger (spans sent over OTLP) and
 * Elasticsearch (log lines in an index of our own): admin-only, trace search, the waterfall
 * (services, bars, attributes, errors in red), log search by text/service/level/request
 * id/trace id/span id, the links between them, every bad input a 400 page, markup escaped.
 */
import { Client } from '@elastic/elasticsearch';
import type { Express } from 'express';
import request from 'supertest';
import { JaegerQuery } from '../src/adapters/jaeger.query';
import { ElasticLogSearch } from '../src/adapters/logs.search';
import {
  createTestDatabase,
  startApp,
  startFakeAuth,
  type FakeAuth,
  type TestDatabase,
} from './helpers';
import { MARKUP, seedOps, type OpsFixture } from './ops-fixtures';

jest.setTimeout(300_000);

let db: TestDatabase;
let auth: FakeAuth;
let app: Express;
let fx: OpsFixture;
let agent: ReturnType<typeof request.agent>;

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

beforeAll(async () => {
  fx = await seedOps();
  db = await createTestDatabase('catalog_admin_ops');
  auth = await startFakeAuth({
    'admin@test': { password: 'admin-pass', roles: ['admin'] },
    'viewer@test': { password: 'viewer-pass', roles: ['public_user'] },
  });
  ({ app } = await startApp(db, auth, {
    traces: new JaegerQuery(fx.jaegerUrl),
    logs: new ElasticLogSearch(fx.es, fx.logsIndex),
  }));
  agent = request.agent(app);
  const csrf = csrfOf((await agent.get('/admin/login')).text);
  await agent
    .post('/admin/login')
    .type('form')
    .send({ _csrf: csrf, email: 'admin@test', password: 'admin-pass' })
    .expect(303);
});

afterAll(async () => {
  await fx?.close();
  await auth?.close();
  await db?.drop();
});

/** The rows of the table with `id` (their text, tags stripped). */
function rows(html: string, id: string): string[] {
  const table = new RegExp(`<table[^>]*id="${id}"[\\s\\S]*?</table>`).exec(html)?.[0] ?? '';
  return [...table.matchAll(/<tr[\s\S]*?<\/tr>/g)].slice(1).map((m) =>
    m[0]
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
  );
}

describe('who may see the ops pages', () => {
  it('sends strangers to the login page and refuses accounts without an admin role', async () => {
    for (const path of [
      '/admin/ops/traces',
      `/admin/ops/traces/${fx.traceId}`,
      '/admin/ops/logs',
    ]) {
      const res = await request(app).get(path).expect(303);
      expect(res.headers.location).toMatch(/^\/admin\/login\?next=/);
    }
    const viewer = await auth.sign(['public_user']);
    await request(app)
      .get(`/admin/ops/traces/${fx.traceId}`)
      .set('Cookie', `ca_access=${viewer}`)
      .expect(403);
    const forged = await auth.sign(['admin'], { foreign: true });
    await request(app).get('/admin/ops/logs').set('Cookie', `ca_access=${forged}`).expect(303);
  });

  it('links the ops pages from the panel', async () => {
    const res = await agent.get('/admin/films').expect(200);
    expect(res.text).toContain('href="/admin/ops/traces"');
    expect(res.text).toContain('href="/admin/ops/logs"');
    expect((await agent.get('/admin/ops').expect(303)).headers.location).toBe('/admin/ops/traces');
  });
});

describe('traces', () => {
  it('lists Jaeger services and finds the trace by service, operation and min duration', async () => {
    const form = await agent.get('/admin/ops/traces').expect(200);
    expect(form.text).toContain(`<option value="${fx.services.api}"`);

    const found = await agent
      .get('/admin/ops/traces')
      .query({ service: fx.services.gateway, lookback: '1h' })
      .expect(200);
    const list = rows(found.text, 'traces');
    expect(list).toHaveLength(1);
    expect(list[0]).toContain(`${fx.services.gateway}: GET /api/v1/films/:id`);
    expect(list[0]).toContain(fx.traceId);
    expect(list[0]).toContain('120.0 ms');
    // The database span failed, and Jaeger counts a server span that answered 500 as failed too.
    expect(list[0]).toContain('(2 with errors)');
    expect(found.text).toContain(`href="/admin/ops/traces/${fx.traceId}"`);

    const byOperation = await agent
      .get('/admin/ops/traces')
      .query({ service: fx.services.api, operation: 'pg.query SELECT', minDuration: '50ms' })
      .expect(200);
    expect(rows(byOperation.text, 'traces')).toHaveLength(1);
    const tooSlow = await agent
      .get('/admin/ops/traces')
      .query({ service: fx.services.api, minDuration: '5s' })
      .expect(200);
    expect(tooSlow.text).toContain('No trace matches.');
    // Outside the window: an hour that ended before the trace.
    const before = new Date(fx.start - 3_600_000).toISOString().slice(0, 16);
    const old = await agent
      .get('/admin/ops/traces')
      .query({
        service: fx.services.gateway,
        from: before,
        to: new Date(fx.start - 60_000).toISOString(),
      })
      .expect(200);
    expect(old.text).toContain('No trace matches.');
  });

  it('draws the waterfall: spans by service in call order, bars, attributes, the error in red', async () => {
    const res = await agent.get(`/admin/ops/traces/${fx.traceId.toUpperCase()}`).expect(200);
    // Only the span rows (the attribute tables inside them are rows too).
    const order = [...res.text.matchAll(/<tr id="span-([0-9a-f]{16})" class="(err)?"/g)].map(
      (m) => [m[1], m[2] ?? ''],
    );
    expect(order).toEqual([
      [fx.spans.gateway, 'err'],
      [fx.spans.api, ''],
      [fx.spans.db, 'err'],
    ]);
    expect(res.text).toContain('pg.query SELECT');
    // Bars: the database span starts at 20 of 120 ms and lasts 80.
    expect(res.text).toMatch(/left:16\.66\d%;width:66\.66\d%/);
    expect(res.text).toContain('db.statement');
    expect(res.text).toContain('connection reset');
    // Markup from a span attribute is text.
    expect(res.text).not.toContain(MARKUP);
    expect(res.text).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    // From a span to its log lines, and from the trace to all of them.
    const spanLogs = new RegExp(
      `href="(/admin/ops/logs\\?traceId=${fx.traceId}&amp;spanId=${fx.spans.db}[^"]*)"`,
    ).exec(res.text)?.[1];
    expect(spanLogs).toBeDefined();
    const logs = await agent.get(spanLogs!.replace(/&amp;/g, '&')).expect(200);
    expect(rows(logs.text, 'logs')).toEqual([
      expect.stringContaining('film query failed: connection reset'),
    ]);
    expect(res.text).toMatch(/id="trace-logs" href="\/admin\/ops\/logs\?traceId=/);
  });

  it('answers an unknown trace with a 404 page and a malformed id with a 400 page', async () => {
    const missing = await agent.get(`/admin/ops/traces/${'ab'.repeat(16)}`).expect(404);
    expect(missing.text).toContain('has no trace');
    for (const bad of ['xyz', 'ab'.repeat(17), '%3Cscript%3E', '..%2F..%2Fapi%2Fservices']) {
      const res = await agent.get(`/admin/ops/traces/${bad}`);
      expect(res.status).toBe(400);
      expect(res.text).not.toContain('<script>');
    }
  });

  it('refuses bad search parameters with the form and a 400', async () => {
    const cases: Array<Record<string, string | string[]>> = [
      { service: fx.services.api, minDuration: '1 hour' },
      { service: fx.services.api, limit: '0' },
      { service: fx.services.api, limit: '1000' },
      { service: fx.services.api, lookback: '10y' },
      { service: fx.services.api, from: 'yesterday' },
      { service: '<script>' },
      { service: [fx.services.api, 'x'] },
      { service: fx.services.api, operation: 'a\u0000b' },
      { service: fx.services.api, tags: '{"error":"true"}' },
    ];
    for (const query of cases) {
      const res = await agent.get('/admin/ops/traces').query(query);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(res.text).toContain('role="alert"');
      expect(res.text).not.toContain('<script>');
    }
    const unknown = await agent
      .get('/admin/ops/traces')
      .query({ service: 'nobody-here' })
      .expect(200);
    expect(unknown.text).toContain('Jaeger knows no service nobody-here');
  });
});

describe('logs', () => {
  const search = (query: Record<string, string>) =>
    agent
      .get('/admin/ops/logs')
      .query({ lookback: '24h', ...query })
      .expect(200)
      .then((r) => ({ text: r.text, lines: rows(r.text, 'logs') }));

  it('finds lines by trace id, newest first, each linking to its span in the trace', async () => {
    const { text, lines } = await search({ traceId: fx.traceId });
    expect(lines).toHaveLength(4);
    expect(lines[0]).toContain('request answered 500');
    expect(lines[3]).toContain('request received');
    expect(text).toContain(`href="/admin/ops/traces/${fx.traceId}#span-${fx.spans.db}"`);
    expect(text).not.toContain(MARKUP);
    expect(text).toContain('loading film &lt;script&gt;');
  });

  it('filters by service, level, request id, text and time', async () => {
    expect((await search({ traceId: fx.traceId, service: fx.services.api })).lines).toHaveLength(2);
    const errors = await search({ service: fx.services.api, level: 'error' });
    expect(errors.lines).toEqual([expect.stringContaining('film query failed')]);
    expect(errors.text).toContain('class="lvl-error"');
    expect((await search({ requestId: fx.requestId })).lines).toHaveLength(4);
    expect(
      (await search({ requestId: `other-${fx.services.api.split('-').pop()}` })).lines,
    ).toEqual([expect.stringContaining('unrelated line')]);
    expect((await search({ service: fx.services.api, q: 'connection reset' })).lines).toHaveLength(
      1,
    );
    expect((await search({ service: fx.services.api, q: 'reset unrelated' })).lines).toHaveLength(
      0,
    );
    // Query-string syntax and JSON are text, never query DSL.
    for (const q of ['" OR *:*', '{"match_all":{}}', 'message:* | *', '\\']) {
      const r = await search({ service: fx.services.api, q });
      expect(r.lines.length).toBeLessThanOrEqual(1);
    }
    const early = new Date(fx.start - 600_000).toISOString();
    const late = new Date(fx.start - 300_000).toISOString();
    expect((await search({ traceId: fx.traceId, from: early, to: late })).text).toContain(
      'No log line matches.',
    );
  });

  it('refuses bad search parameters with the form and a 400', async () => {
    const cases: Array<Record<string, string | string[]>> = [
      { traceId: 'not-hex' },
      { spanId: '123' },
      { level: 'loud' },
      { requestId: 'a b' },
      { service: 'a"b' },
      { q: 'x'.repeat(201) },
      { traceId: [fx.traceId, fx.traceId] },
      { lookback: '1y' },
      { from: '2026-13-45T99:99' },
      { from: new Date().toISOString(), to: new Date(Date.now() - 3_600_000).toISOString() },
      { index: '*' },
    ];
    for (const query of cases) {
      const res = await agent.get('/admin/ops/logs').query(query);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(res.text).toContain('role="alert"');
    }
  });
});

describe('without a configured Jaeger or Elasticsearch', () => {
  it('says so (503) instead of failing', async () => {
    const bare = await startApp(db, auth);
    const token = await auth.sign(['admin']);
    for (const path of [
      '/admin/ops/traces',
      '/admin/ops/logs',
      `/admin/ops/traces/${fx.traceId}`,
    ]) {
      const res = await request(bare.app).get(path).set('Cookie', `ca_access=${token}`);
      expect(res.status).toBe(503);
      expect(res.text).toMatch(/not configured|configured/);
    }
  });

  it('is unavailable (503 page), not broken, when they cannot be reached', async () => {
    const es = new Client({ node: 'http://127.0.0.1:1', maxRetries: 0 });
    const down = await startApp(db, auth, {
      traces: new JaegerQuery('http://127.0.0.1:1'),
      logs: new ElasticLogSearch(es, 'logs-*'),
    });
    const token = await auth.sign(['admin']);
    const traces = await request(down.app)
      .get('/admin/ops/traces')
      .set('Cookie', `ca_access=${token}`);
    expect(traces.status).toBe(503);
    expect(traces.text).toContain('Jaeger cannot be reached');
    const logs = await request(down.app).get('/admin/ops/logs').set('Cookie', `ca_access=${token}`);
    expect(logs.status).toBe(503);
    expect(logs.text).toContain('Elasticsearch cannot be reached');
    await es.close();
  });
});
