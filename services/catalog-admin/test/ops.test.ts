/** The ops pages' rules without I/O: input validation, the waterfall layout, Jaeger and ECS mapping. */
import { mapTrace } from '../src/adapters/jaeger.query';
import { mapLine, pick } from '../src/adapters/logs.search';
import {
  formatDuration,
  logSearchSchema,
  summarize,
  traceSearchSchema,
  waterfall,
  windowOf,
  type Span,
} from '../src/domain/ops';

const span = (id: string, parent: string | undefined, start: number, duration: number): Span => ({
  spanId: id,
  parentId: parent,
  service: id.startsWith('a') ? 'gateway' : 'api',
  operation: `op ${id}`,
  start,
  duration,
  attributes: [],
  links: [],
  events: [],
  error: id === 'b2',
});

describe('waterfall', () => {
  it('orders spans parent first, siblings by start, with depth and bar geometry', () => {
    const wf = waterfall({
      traceId: 't',
      warnings: [],
      spans: [
        span('b2', 'a1', 1_060, 20),
        span('a1', undefined, 1_000, 200),
        span('b1', 'a1', 1_010, 40),
        span('c1', 'b1', 1_020, 10),
        span('zz', 'missing', 1_100, 100),
      ],
    });
    expect(wf.rows.map((r) => [r.span.spanId, r.depth])).toEqual([
      ['a1', 0],
      ['b1', 1],
      ['c1', 2],
      ['b2', 1],
      ['zz', 0],
    ]);
    expect(wf.duration).toBe(200);
    expect(wf.rows[3]).toMatchObject({ offsetPct: 30, widthPct: 10 });
    expect(wf.errors).toBe(1);
    expect(wf.services).toEqual([
      { name: 'api', spans: 4 },
      { name: 'gateway', spans: 1 },
    ]);
  });

  it('keeps every span of a trace whose parents loop', () => {
    const wf = waterfall({
      traceId: 't',
      warnings: [],
      spans: [span('a1', 'b1', 0, 10), span('b1', 'a1', 5, 10)],
    });
    expect(wf.rows.map((r) => r.span.spanId).sort()).toEqual(['a1', 'b1']);
  });

  it('summarizes a trace by its earliest root span', () => {
    const s = summarize({
      traceId: 't',
      warnings: [],
      spans: [span('b1', 'a1', 20, 5), span('a1', undefined, 10, 50)],
    });
    expect(s).toMatchObject({ rootOperation: 'op a1', start: 10, duration: 50, spanCount: 2 });
  });

  it('formats durations', () => {
    expect([999, 1234, 120_000, 2_500_000].map(formatDuration)).toEqual([
      '999 µs',
      '1.23 ms',
      '120.0 ms',
      '2.50 s',
    ]);
  });
});

describe('inputs', () => {
  it('accepts a full trace search and fills the defaults', () => {
    expect(traceSearchSchema.parse({ service: 'catalog-api', operation: '', limit: '' })).toEqual({
      service: 'catalog-api',
      limit: 20,
      lookback: '1h',
    });
    expect(
      traceSearchSchema.parse({ service: 'a', minDuration: '1.5s', from: '2026-12-01T09:30' }).from,
    ).toBe(Date.parse('2026-12-01T09:30:00Z'));
  });

  it.each([
    [{ minDuration: '5 minutes' }],
    [{ limit: '101' }],
    [{ service: 'a b' }],
    [{ from: '2026-02-31T25:00' }],
    [{ extra: '1' }],
  ])('refuses a bad trace search %j', (query) => {
    expect(traceSearchSchema.safeParse(query).success).toBe(false);
  });

  it('lower-cases ids and refuses malformed ones in a log search', () => {
    expect(logSearchSchema.parse({ traceId: 'AB'.repeat(16) }).traceId).toBe('ab'.repeat(16));
    for (const bad of [{ traceId: 'g'.repeat(32) }, { spanId: 'ab' }, { level: 'INFO' }]) {
      expect(logSearchSchema.safeParse(bad).success).toBe(false);
    }
  });

  it('windows: from/to when given, else the look-back before now', () => {
    expect(windowOf({ lookback: '15m' }, 1_000_000)).toEqual({ start: 100_000, end: 1_000_000 });
    expect(windowOf({ lookback: '1h', from: 5, to: 9 })).toEqual({ start: 5, end: 9 });
  });
});

describe('mapping', () => {
  it("maps Jaeger's JSON: parent, links, error tags, service names", () => {
    const trace = mapTrace({
      traceID: 't1',
      processes: { p1: { serviceName: 'auth' } },
      warnings: null,
      spans: [
        {
          traceID: 't1',
          spanID: 's2',
          operationName: 'consume',
          references: [
            { refType: 'CHILD_OF', traceID: 't1', spanID: 's1' },
            { refType: 'FOLLOWS_FROM', traceID: 't0', spanID: 's0' },
          ],
          startTime: 5,
          duration: 7,
          tags: [
            { key: 'otel.status_code', value: 'ERROR' },
            { key: 'n', value: 3 },
          ],
          processID: 'p1',
        },
      ],
    });
    expect(trace.spans[0]).toMatchObject({
      parentId: 's1',
      service: 'auth',
      error: true,
      links: [{ traceId: 't0', spanId: 's0' }],
      attributes: [
        ['otel.status_code', 'ERROR'],
        ['n', '3'],
      ],
    });
  });

  it('reads ECS fields written flat or nested', () => {
    expect(pick({ 'trace.id': 'a' }, 'trace.id')).toBe('a');
    expect(pick({ trace: { id: 'b' } }, 'trace.id')).toBe('b');
    expect(pick({ http: { 'request.id': 'c' } }, 'http.request.id')).toBe('c');
    expect(
      mapLine('x', {
        '@timestamp': 't',
        log: { level: 'error' },
        message: 'm',
        err: { message: 'boom' },
      }),
    ).toMatchObject({ level: 'error', message: 'm', error: 'boom' });
  });
});
