/**
 * The server span of an incoming request, made by the first middleware of every service's
 * Express app (`@cinema/http`), in place of the HTTP instrumentation's incoming side.
 *
 * Why not HttpInstrumentation for incoming requests: it binds the request and the response
 * emitters to the context (every listener body-parser, on-finished or Express adds is wrapped and
 * every event re-enters the context), parses the URL and the Forwarded headers into a dozen
 * attributes and builds metric attribute sets nobody reads here, per request; measured in
 * docs/benchmarks.md. Here one wrapper of the request's `emit` keeps the context through body
 * parsing (see `bindRequestEvents`). The instrumentation still traces outgoing `http` requests.
 *
 * Attributes follow OpenTelemetry's stable HTTP server conventions; the span is named
 * `METHOD /route/:template` once Express has matched a route, else `METHOD`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';

/** Probes and metrics: no span (they would drown the traces of real requests). */
const UNTRACED = /^\/(?:healthz|readyz|metrics)(?:[/?]|$)/;

type ExpressRequest = IncomingMessage & { route?: { path?: unknown }; baseUrl?: string };

export interface IncomingRequestOptions {
  /**
   * Runs the request's events (body `data`, `end`, `close`) in the span's context (default).
   * They come from the connection's parser, outside the request's async context whenever the
   * body arrives after a listener was added (a large or slow body), so without this whatever
   * runs after body parsing would lose the span. Off when the caller binds them itself
   * (`@cinema/http` does, for its own request context too).
   */
  bindRequestEvents?: boolean;
}

export function traceIncomingRequests(
  options: IncomingRequestOptions = {},
): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  const bind = options.bindRequestEvents !== false;
  const tracer = trace.getTracer('@cinema/telemetry/http-server');
  return (req, res, next) => {
    const url = req.url ?? '/';
    if (UNTRACED.test(url)) {
      next();
      return;
    }
    const method = req.method ?? 'GET';
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(method, { kind: SpanKind.SERVER }, parent);
    const active = trace.setSpan(parent, span);
    // Attributes and the end of the span only for a span that records (not without the SDK,
    // not for a trace the sampler left out); the context is passed on either way.
    if (span.isRecording()) {
      span.setAttributes(requestAttributes(req, method, url));
      // A response emits 'close' once, last, whether it was sent in full ('finish' before it) or
      // the client went away: one plain listener (no `once` wrappers) ends the span either way.
      res.on('close', () => endSpan(span, req, res, method));
    }
    if (bind && trace.isSpanContextValid(span.spanContext())) {
      req.emit = context.bind(active, req.emit);
    }
    context.with(active, next);
  };
}

function requestAttributes(req: IncomingMessage, method: string, url: string): Attributes {
  const query = url.indexOf('?');
  const attributes: Attributes = {
    'http.request.method': method,
    'url.path': query === -1 ? url : url.slice(0, query),
    'url.scheme': (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
    'network.protocol.version': req.httpVersion,
    'client.address': req.socket.remoteAddress,
    'server.port': req.socket.localPort,
  };
  const host = req.headers.host;
  if (host) attributes['server.address'] = host.replace(/:\d+$/, '');
  const agent = req.headers['user-agent'];
  if (agent) attributes['user_agent.original'] = agent;
  return attributes;
}

function endSpan(span: Span, req: IncomingMessage, res: ServerResponse, method: string): void {
  const status = res.statusCode;
  span.setAttribute('http.response.status_code', status);
  if (!res.writableFinished) {
    // The client went away before the whole answer was sent.
    span.setAttribute('error.type', 'aborted');
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'connection closed early' });
  } else if (status >= 500) {
    span.setAttribute('error.type', String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  const r = req as ExpressRequest;
  const matched = r.route?.path;
  if (typeof matched === 'string') {
    const route = `${r.baseUrl ?? ''}${matched}`;
    span.setAttribute('http.route', route);
    span.updateName(`${method} ${route}`);
  }
  span.end();
}
