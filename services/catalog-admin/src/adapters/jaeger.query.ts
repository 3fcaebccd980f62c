/**
 * Jaeger's query service over its HTTP JSON API (`/api/services`,
 * `/api/services/{service}/operations`, `/api/traces?service=...`, `/api/traces/{id}`), the API
 * both the stack's Jaeger v2 and the Jaeger operator's query service serve. Every parameter goes
 * through URLSearchParams / encodeURIComponent after the routes validated it; Jaeger's answers are
 * mapped to the ops model (domain/ops.ts) and nothing of them reaches a page unescaped.
 */
import { BadRequestError, ServiceUnavailableError } from '@cinema/errors';
import type { Span, Trace, TraceQuery, TraceSearchInput } from '../domain/ops';

interface JaegerKeyValue {
  key: string;
  type?: string;
  value: unknown;
}
interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references?: Array<{ refType: string; traceID: string; spanID: string }>;
  startTime: number;
  duration: number;
  tags?: JaegerKeyValue[];
  logs?: Array<{ timestamp: number; fields?: JaegerKeyValue[] }>;
  processID: string;
  warnings?: string[] | null;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
  warnings?: string[] | null;
}
interface JaegerAnswer<T> {
  data?: T;
  errors?: Array<{ code?: number; msg?: string }> | null;
}

/** Tags longer than this are cut on the page (a SQL statement, a stack trace). */
const MAX_VALUE = 4000;

const text = (v: unknown): string => {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE)}…` : s;
};

function isError(tags: JaegerKeyValue[]): boolean {
  return tags.some(
    (t) =>
      (t.key === 'error' && (t.value === true || t.value === 'true')) ||
      (t.key === 'otel.status_code' && t.value === 'ERROR'),
  );
}

export function mapTrace(t: JaegerTrace): Trace {
  const spans: Span[] = t.spans.map((s) => {
    const tags = s.tags ?? [];
    const refs = s.references ?? [];
    const parent = refs.find((r) => r.refType === 'CHILD_OF' && r.traceID === s.traceID);
    return {
      spanId: s.spanID,
      parentId: parent?.spanID,
      service: t.processes[s.processID]?.serviceName ?? s.processID,
      operation: s.operationName,
      start: s.startTime,
      duration: s.duration,
      attributes: tags.map((tag) => [tag.key, text(tag.value)] as [string, string]),
      links: refs
        .filter((r) => r !== parent)
        .map((r) => ({ traceId: r.traceID, spanId: r.spanID })),
      events: (s.logs ?? []).map((l) => ({
        time: l.timestamp,
        fields: (l.fields ?? []).map((f) => [f.key, text(f.value)] as [string, string]),
      })),
      error: isError(tags),
    };
  });
  const warnings = [...(t.warnings ?? []), ...t.spans.flatMap((s) => s.warnings ?? [])];
  return { traceId: t.traceID, spans, warnings };
}

export class JaegerQuery implements TraceQuery {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly timeoutMs = 10_000,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  private async get<T>(path: string): Promise<{ status: number; body: JaegerAnswer<T> }> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch {
      throw new ServiceUnavailableError('Jaeger cannot be reached');
    }
    const body = (await res.json().catch(() => ({}))) as JaegerAnswer<T>;
    if (res.status >= 500) throw new ServiceUnavailableError(`Jaeger answered ${res.status}`);
    return { status: res.status, body };
  }

  async services(): Promise<string[]> {
    const { body } = await this.get<string[]>('/api/services');
    return [...(body.data ?? [])].sort();
  }

  async operations(service: string): Promise<string[]> {
    const { body } = await this.get<string[]>(
      `/api/services/${encodeURIComponent(service)}/operations`,
    );
    return [...(body.data ?? [])].sort();
  }

  async search(input: TraceSearchInput, window: { start: number; end: number }): Promise<Trace[]> {
    if (!input.service) return [];
    const params = new URLSearchParams({
      service: input.service,
      start: String(window.start * 1000),
      end: String(window.end * 1000),
      limit: String(input.limit),
    });
    if (input.operation) params.set('operation', input.operation);
    if (input.minDuration) params.set('minDuration', input.minDuration.replace('µs', 'us'));
    const { status, body } = await this.get<JaegerTrace[]>(`/api/traces?${params}`);
    if (status === 400) {
      throw new BadRequestError(body.errors?.[0]?.msg ?? 'Jaeger refused the search');
    }
    return (body.data ?? [])
      .map(mapTrace)
      .sort(
        (a, b) =>
          Math.min(...b.spans.map((s) => s.start)) - Math.min(...a.spans.map((s) => s.start)),
      );
  }

  async trace(traceId: string): Promise<Trace | undefined> {
    const { status, body } = await this.get<JaegerTrace[]>(
      `/api/traces/${encodeURIComponent(traceId)}`,
    );
    if (status === 404 || !body.data?.[0]) return undefined;
    return mapTrace(body.data[0]);
  }
}
