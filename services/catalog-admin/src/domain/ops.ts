/**
 * The ops pages' model: what a trace search, a trace and a log search ask and answer, the
 * validation of every input a browser can send (zod; anything else is a 400 page), and the
 * waterfall layout of a trace (spans in call order with their depth, offset and share of the
 * trace's time). Nothing here knows Jaeger's or Elasticsearch's wire format: the adapters map
 * their answers to these shapes.
 */
import { z } from '@cinema/config';

/** Look-back windows offered by the forms (milliseconds). */
export const LOOKBACKS = {
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '24h': 24 * 3_600_000,
  '2d': 2 * 24 * 3_600_000,
  '7d': 7 * 24 * 3_600_000,
} as const;
export type Lookback = keyof typeof LOOKBACKS;

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

const TRACE_ID = /^(?:[0-9a-f]{16}|[0-9a-f]{32})$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
/** `datetime-local` inputs (read as UTC) or full ISO timestamps. */
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?$/;
/** Printable text without control characters. */
const TEXT = /^[^\p{Cc}]*$/u;

/** An empty form field is the same as a missing one. */
const optional = <T extends z.ZodTypeAny>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const time = z
  .string()
  .regex(TIME, 'a date and time like 2026-12-01T09:30')
  .transform((v, ctx) => {
    const t = Date.parse(/(Z|[+-]\d{2}:\d{2})$/.test(v) ? v : `${v}Z`);
    if (Number.isNaN(t)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'not a valid date and time' });
      return z.NEVER;
    }
    return t;
  });

const window = {
  lookback: z.preprocess(
    (v) => (v === '' || v === undefined ? '1h' : v),
    z.enum(Object.keys(LOOKBACKS) as [Lookback, ...Lookback[]]),
  ),
  from: optional(time),
  to: optional(time),
};

export const traceSearchSchema = z
  .object({
    service: optional(
      z
        .string()
        .max(100)
        .regex(/^[\w.\-/:@]+$/, 'letters, digits and . - _ / :'),
    ),
    operation: optional(z.string().max(200).regex(TEXT, 'no control characters')),
    minDuration: optional(
      z
        .string()
        .max(20)
        .regex(/^\d+(?:\.\d+)?(?:us|µs|ms|s|m)$/, 'a duration like 250ms, 1.5s or 800us'),
    ),
    limit: z.preprocess(
      (v) => (v === '' || v === undefined ? 20 : Number(v)),
      z.number().int().min(1).max(100),
    ),
    ...window,
  })
  .strict();
export type TraceSearchInput = z.infer<typeof traceSearchSchema>;

export const logSearchSchema = z
  .object({
    q: optional(z.string().max(200).regex(TEXT, 'no control characters')),
    service: optional(
      z
        .string()
        .max(100)
        .regex(/^[\w.\-/:@]+$/, 'letters, digits and . - _ / :'),
    ),
    level: optional(z.enum(LEVELS)),
    requestId: optional(
      z
        .string()
        .max(128)
        .regex(/^[\w.:-]+$/, 'letters, digits and . : - _'),
    ),
    traceId: optional(
      z
        .string()
        .transform((v) => v.toLowerCase())
        .pipe(z.string().regex(TRACE_ID, '16 or 32 hexadecimal digits')),
    ),
    spanId: optional(
      z
        .string()
        .transform((v) => v.toLowerCase())
        .pipe(z.string().regex(SPAN_ID, '16 hexadecimal digits')),
    ),
    ...window,
  })
  .strict();
export type LogSearchInput = z.infer<typeof logSearchSchema>;

export const traceIdSchema = z
  .string()
  .transform((v) => v.toLowerCase())
  .pipe(z.string().regex(TRACE_ID, 'a trace id is 16 or 32 hexadecimal digits'));

/** A time window in milliseconds since the epoch: `from`/`to` when given, else the look-back. */
export function windowOf(
  input: { lookback: Lookback; from?: number; to?: number },
  now = Date.now(),
): { start: number; end: number } {
  const end = input.to ?? now;
  const start = input.from ?? end - LOOKBACKS[input.lookback];
  return { start, end };
}

/** The first problem of each field, for the form ("service: ..."). */
export function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((i) =>
    i.code === 'unrecognized_keys'
      ? `unknown parameter ${i.keys.join(', ')}`
      : `${i.path.join('.') || 'query'}: ${i.message}`,
  );
}

// ---- what the adapters answer -------------------------------------------------------------------

export interface SpanEvent {
  /** Microseconds since the epoch. */
  time: number;
  fields: Array<[string, string]>;
}

export interface Span {
  spanId: string;
  /** The CHILD_OF parent; undefined for a root (or a span whose parent was not recorded). */
  parentId?: string;
  service: string;
  operation: string;
  /** Microseconds since the epoch. */
  start: number;
  /** Microseconds. */
  duration: number;
  attributes: Array<[string, string]>;
  /** Spans this one links to (batch consumers' links, FOLLOWS_FROM), as trace:span. */
  links: Array<{ traceId: string; spanId: string }>;
  events: SpanEvent[];
  error: boolean;
}

export interface Trace {
  traceId: string;
  spans: Span[];
  warnings: string[];
}

export interface TraceSummary {
  traceId: string;
  rootService: string;
  rootOperation: string;
  /** Microseconds since the epoch. */
  start: number;
  /** Microseconds. */
  duration: number;
  spanCount: number;
  services: Array<{ name: string; spans: number }>;
  errors: number;
}

export interface LogLine {
  id: string;
  /** ISO timestamp. */
  time: string;
  service?: string;
  level?: string;
  message: string;
  traceId?: string;
  spanId?: string;
  requestId?: string;
  error?: string;
}

export interface LogPage {
  lines: LogLine[];
  /** How many lines match (at least `lines.length`). */
  total: number;
}

/** Jaeger's query service, as the ops pages use it. */
export interface TraceQuery {
  services(): Promise<string[]>;
  operations(service: string): Promise<string[]>;
  search(input: TraceSearchInput, window: { start: number; end: number }): Promise<Trace[]>;
  /** Undefined when Jaeger has no such trace. */
  trace(traceId: string): Promise<Trace | undefined>;
}

/** The log store (Elasticsearch), as the ops pages use it. */
export interface LogQuery {
  search(
    input: LogSearchInput,
    window: { start: number; end: number },
    size: number,
  ): Promise<LogPage>;
}

// ---- layout ------------------------------------------------------------------------------------

export interface WaterfallRow {
  span: Span;
  depth: number;
  /** Where the bar starts and how long it is, in per cent of the trace's time. */
  offsetPct: number;
  widthPct: number;
}

export interface Waterfall {
  traceId: string;
  start: number;
  duration: number;
  services: Array<{ name: string; spans: number }>;
  rows: WaterfallRow[];
  errors: number;
}

function servicesOf(spans: Span[]): Array<{ name: string; spans: number }> {
  const counts = new Map<string, number>();
  for (const s of spans) counts.set(s.service, (counts.get(s.service) ?? 0) + 1);
  return [...counts].map(([name, n]) => ({ name, spans: n }));
}

function bounds(spans: Span[]): { start: number; end: number } {
  let start = Infinity;
  let end = -Infinity;
  for (const s of spans) {
    start = Math.min(start, s.start);
    end = Math.max(end, s.start + s.duration);
  }
  return spans.length ? { start, end } : { start: 0, end: 0 };
}

/** Spans in call order (each parent before its children, siblings by start time). */
export function waterfall(trace: Trace): Waterfall {
  const ids = new Set(trace.spans.map((s) => s.spanId));
  const children = new Map<string | undefined, Span[]>();
  for (const s of trace.spans) {
    // A span whose parent is not in the trace (not recorded, sampled out) is shown as a root.
    const parent = s.parentId && ids.has(s.parentId) ? s.parentId : undefined;
    const list = children.get(parent) ?? [];
    list.push(s);
    children.set(parent, list);
  }
  for (const list of children.values()) list.sort((a, b) => a.start - b.start);
  const { start, end } = bounds(trace.spans);
  const total = Math.max(end - start, 1);
  const rows: WaterfallRow[] = [];
  const seen = new Set<string>();
  const visit = (span: Span, depth: number) => {
    if (seen.has(span.spanId)) return; // a broken trace may loop
    seen.add(span.spanId);
    const offsetPct = ((span.start - start) / total) * 100;
    rows.push({
      span,
      depth,
      offsetPct,
      widthPct: Math.min(Math.max((span.duration / total) * 100, 0.3), 100 - offsetPct),
    });
    for (const child of children.get(span.spanId) ?? []) visit(child, depth + 1);
  };
  for (const root of children.get(undefined) ?? []) visit(root, 0);
  // Spans only reachable through a loop: shown flat at the end rather than lost.
  for (const s of trace.spans) visit(s, 0);
  return {
    traceId: trace.traceId,
    start,
    duration: end - start,
    services: servicesOf(trace.spans),
    rows,
    errors: trace.spans.filter((s) => s.error).length,
  };
}

/** One line of a search result: the root span (the earliest span without a parent). */
export function summarize(trace: Trace): TraceSummary {
  const ids = new Set(trace.spans.map((s) => s.spanId));
  const roots = trace.spans.filter((s) => !s.parentId || !ids.has(s.parentId));
  const root = [...(roots.length ? roots : trace.spans)].sort((a, b) => a.start - b.start)[0];
  const { start, end } = bounds(trace.spans);
  return {
    traceId: trace.traceId,
    rootService: root?.service ?? '?',
    rootOperation: root?.operation ?? '?',
    start,
    duration: end - start,
    spanCount: trace.spans.length,
    services: servicesOf(trace.spans),
    errors: trace.spans.filter((s) => s.error).length,
  };
}

/** 1234 µs -> "1.23 ms". */
export function formatDuration(us: number): string {
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}
