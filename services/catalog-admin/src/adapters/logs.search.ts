/**
 * The platform's log lines in Elasticsearch (ECS documents: the stack's shipper writes
 * `logs-cinema-YYYY.MM.DD`, Filebeat from ECK writes its data stream in the cluster), searched
 * with the official client. Filters are `term` queries on the ECS fields; a field is asked both
 * as itself (a `keyword`, as ECK's ECS template and the stack shipper's template map it) and as
 * its `.keyword` sub-field (dynamic mapping: indices made before the shipper had its template),
 * so one query fits both. Free text goes through
 * `simple_query_string`, which never fails on syntax and runs no script.
 */
import { Client, errors } from '@elastic/elasticsearch';
import { ServiceUnavailableError } from '@cinema/errors';
import type { LogLine, LogPage, LogQuery, LogSearchInput } from '../domain/ops';

type Source = Record<string, unknown>;

/** `a.b.c` of a document whose keys may be dotted (`"trace.id"`) or nested (`trace: {id}`). */
export function pick(doc: Source, field: string): unknown {
  if (field in doc) return doc[field];
  const dot = field.indexOf('.');
  if (dot < 0) return undefined;
  // Try every split: `http.request.id` may be `http: {"request.id"}` or `"http.request": {id}`.
  for (let i = dot; i >= 0; i = field.indexOf('.', i + 1)) {
    const head = doc[field.slice(0, i)];
    if (head && typeof head === 'object' && !Array.isArray(head)) {
      const found = pick(head as Source, field.slice(i + 1));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;

export function mapLine(id: string, doc: Source): LogLine {
  const err = pick(doc, 'error.message') ?? pick(doc, 'err.message');
  return {
    id,
    time: str(pick(doc, '@timestamp')) ?? '',
    service: str(pick(doc, 'service.name')),
    level: str(pick(doc, 'log.level')),
    message: str(pick(doc, 'message')) ?? str(pick(doc, 'event.original')) ?? '',
    traceId: str(pick(doc, 'trace.id')),
    spanId: str(pick(doc, 'span.id')),
    requestId: str(pick(doc, 'http.request.id')),
    error: str(err),
  };
}

const exact = (field: string, value: string) => ({
  bool: {
    should: [{ term: { [field]: value } }, { term: { [`${field}.keyword`]: value } }],
    minimum_should_match: 1,
  },
});

export class ElasticLogSearch implements LogQuery {
  constructor(
    private readonly client: Client,
    private readonly index: string,
  ) {}

  async search(
    input: LogSearchInput,
    window: { start: number; end: number },
    size: number,
  ): Promise<LogPage> {
    const filter: object[] = [
      {
        range: {
          '@timestamp': {
            gte: new Date(window.start).toISOString(),
            lte: new Date(window.end).toISOString(),
          },
        },
      },
    ];
    if (input.service) filter.push(exact('service.name', input.service));
    if (input.level) filter.push(exact('log.level', input.level));
    if (input.requestId) filter.push(exact('http.request.id', input.requestId));
    if (input.traceId) filter.push(exact('trace.id', input.traceId));
    if (input.spanId) filter.push(exact('span.id', input.spanId));
    const must = input.q
      ? [
          {
            simple_query_string: {
              query: input.q,
              fields: ['message', 'error.message', 'event.original'],
              default_operator: 'and' as const,
              lenient: true,
            },
          },
        ]
      : [];
    try {
      const res = await this.client.search<Source>({
        index: this.index,
        ignore_unavailable: true,
        allow_no_indices: true,
        size,
        track_total_hits: 10_000,
        sort: [{ '@timestamp': { order: 'desc', unmapped_type: 'date' } }],
        query: { bool: { filter, must } },
      });
      const total = res.hits.total;
      return {
        lines: res.hits.hits.map((h) => mapLine(h._id ?? '', h._source ?? {})),
        total: typeof total === 'number' ? total : (total?.value ?? res.hits.hits.length),
      };
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) {
        return { lines: [], total: 0 };
      }
      throw new ServiceUnavailableError(
        err instanceof errors.ResponseError
          ? `Elasticsearch answered ${err.statusCode ?? '?'}`
          : 'Elasticsearch cannot be reached',
      );
    }
  }
}
