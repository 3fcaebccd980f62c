/**
 * Data for the ops pages' tests, put into the real servers: one trace of two services of our own
 * (a gateway span, an API span under it, a database span under that one failing with an error),
 * sent to the stack's Jaeger over OTLP/HTTP JSON as any SDK sends it; and log lines of those spans
 * in an Elasticsearch index of our own, shaped as the stack's shipper writes them (flat ECS keys).
 * Some values carry markup, to check the pages escape it.
 */
import { randomBytes } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { startStack } from '@cinema/stack';
import { suffix, waitFor } from '@cinema/testing';

export const MARKUP = '<script>alert("x")</script><b>bold</b>';

export interface OpsFixture {
  jaegerUrl: string;
  elasticsearchUrl: string;
  /** The index pattern of our log lines. */
  logsIndex: string;
  traceId: string;
  spans: { gateway: string; api: string; db: string };
  services: { gateway: string; api: string };
  requestId: string;
  /** Milliseconds since the epoch: when the trace started. */
  start: number;
  es: Client;
  close(): Promise<void>;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const attr = (key: string, value: string | number | boolean) => ({
  key,
  value:
    typeof value === 'string'
      ? { stringValue: value }
      : typeof value === 'number'
        ? { intValue: value }
        : { boolValue: value },
});

export async function seedOps(): Promise<OpsFixture> {
  // Jaeger is an optional server of the test stack (a Go build): named here, reused when running.
  const stack = await startStack({ only: ['jaeger', 'elasticsearch'] });
  const jaegerUrl = stack.env.JAEGER_URL!;
  const elasticsearchUrl = stack.env.ELASTICSEARCH_URL!;
  const id = suffix();
  const traceId = hex(16);
  const spans = { gateway: hex(8), api: hex(8), db: hex(8) };
  const services = { gateway: `ops-test-gateway-${id}`, api: `ops-test-api-${id}` };
  const requestId = `ops-req-${id}`;
  const start = Date.now() - 60_000;
  const ns = (ms: number) => String(BigInt(start + ms) * 1_000_000n);

  const resourceSpans = [
    {
      resource: { attributes: [attr('service.name', services.gateway)] },
      scopeSpans: [
        {
          scope: { name: 'ops-test' },
          spans: [
            {
              traceId,
              spanId: spans.gateway,
              name: 'GET /api/v1/films/:id',
              kind: 2,
              startTimeUnixNano: ns(0),
              endTimeUnixNano: ns(120),
              attributes: [
                attr('http.request.method', 'GET'),
                attr('http.response.status_code', 500),
                attr('http.request_id', requestId),
              ],
            },
          ],
        },
      ],
    },
    {
      resource: { attributes: [attr('service.name', services.api)] },
      scopeSpans: [
        {
          scope: { name: 'ops-test' },
          spans: [
            {
              traceId,
              spanId: spans.api,
              parentSpanId: spans.gateway,
              name: 'handle film',
              kind: 2,
              startTimeUnixNano: ns(10),
              endTimeUnixNano: ns(110),
              attributes: [attr('film.title', MARKUP)],
            },
            {
              traceId,
              spanId: spans.db,
              parentSpanId: spans.api,
              name: 'pg.query SELECT',
              kind: 3,
              startTimeUnixNano: ns(20),
              endTimeUnixNano: ns(100),
              attributes: [attr('db.system', 'postgresql'), attr('db.statement', 'SELECT 1')],
              status: { code: 2, message: 'connection reset' },
              events: [
                {
                  timeUnixNano: ns(99),
                  name: 'exception',
                  attributes: [attr('exception.message', 'connection reset')],
                },
              ],
            },
          ],
        },
      ],
    },
  ];
  const sent = await fetch(`${stack.env.OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ resourceSpans }),
  });
  if (!sent.ok) throw new Error(`OTLP export: ${sent.status} ${await sent.text()}`);

  const es = new Client({ node: elasticsearchUrl });
  const prefix = `logs-opstest-${id}`;
  const day = new Date(start).toISOString().slice(0, 10).replace(/-/g, '.');
  const at = (ms: number) => new Date(start + ms).toISOString();
  const line = (ms: number, service: string, span: string, level: string, message: string) => ({
    '@timestamp': at(ms),
    'log.level': level,
    message,
    'service.name': service,
    'trace.id': traceId,
    'span.id': span,
    'http.request.id': requestId,
    'ecs.version': '8.10.0',
  });
  const docs = [
    line(1, services.gateway, spans.gateway, 'info', 'request received'),
    line(15, services.api, spans.api, 'info', `loading film ${MARKUP}`),
    line(99, services.api, spans.db, 'error', 'film query failed: connection reset'),
    line(119, services.gateway, spans.gateway, 'warn', 'request answered 500'),
    // A line of another request, which no filter of this trace may return.
    {
      '@timestamp': at(50),
      'log.level': 'info',
      message: 'unrelated line',
      'service.name': services.api,
      'http.request.id': `other-${id}`,
    },
  ];
  await es.bulk({
    refresh: 'wait_for',
    operations: docs.flatMap((d) => [{ create: { _index: `${prefix}-${day}` } }, d]),
  });

  // Jaeger writes spans to Elasticsearch in bulk: wait until the query service has the trace.
  await waitFor(
    async () => {
      const res = await fetch(`${jaegerUrl}/api/traces/${traceId}`);
      if (!res.ok) return false;
      const body = (await res.json()) as { data?: Array<{ spans: unknown[] }> };
      return body.data?.[0]?.spans.length === 3;
    },
    60_000,
    `trace ${traceId} in Jaeger`,
  );
  await waitFor(
    async () => {
      const res = await fetch(`${jaegerUrl}/api/services`);
      const body = (await res.json()) as { data?: string[] };
      return body.data?.includes(services.api) === true;
    },
    60_000,
    'the test services in Jaeger',
  );

  return {
    jaegerUrl,
    elasticsearchUrl,
    logsIndex: `${prefix}-*`,
    traceId,
    spans,
    services,
    requestId,
    start,
    es,
    async close() {
      await es.indices.delete({ index: `${prefix}-*` }).catch(() => undefined);
      await es.close();
    },
  };
}
