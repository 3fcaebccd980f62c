/**
 * The ops pages under /admin/ops (behind the panel's admin gate, like every admin page): trace
 * search and a trace's waterfall from Jaeger's query service, log search in Elasticsearch, links
 * from a log line to its trace and from a span to its log lines. GET only: nothing here changes
 * state. Every query parameter is validated (domain/ops.ts); a bad one re-renders the form with
 * the problems and status 400. Jaeger or Elasticsearch not configured: the page says so (503).
 */
import { Router, type Request } from 'express';
import type { Logger } from '@cinema/logging';
import {
  logSearchSchema,
  problemsOf,
  summarize,
  traceIdSchema,
  traceSearchSchema,
  waterfall,
  windowOf,
  type LogQuery,
  type TraceQuery,
} from '../domain/ops';
import { handle, sendPage, viewContext } from './pages';
import * as opsViews from './ops.views';
import * as views from './views';

export interface OpsDeps {
  /** Jaeger's query service; undefined when OPS_JAEGER_URL is not set. */
  traces?: TraceQuery;
  /** The log store; undefined when OPS_ELASTICSEARCH_URL is not set. */
  logs?: LogQuery;
  logger: Logger;
}

/** How many log lines a search shows (the newest first). */
const LOG_PAGE = 200;

const query = (req: Request) => req.query as Record<string, unknown>;

export function opsRoutes(deps: OpsDeps): Router {
  const router = Router();

  router.get('/ops', (_req, res) => res.redirect(303, '/admin/ops/traces'));

  router.get(
    '/ops/traces',
    handle(deps.logger, async (req, res) => {
      const ctx = viewContext(req, res);
      const values = query(req);
      if (!deps.traces) {
        return sendPage(
          res,
          503,
          opsViews.traceSearchPage(ctx, {
            values,
            problems: [],
            services: [],
            operations: [],
            unavailable: 'No Jaeger query service is configured (OPS_JAEGER_URL).',
          }),
        );
      }
      const parsed = traceSearchSchema.safeParse(values);
      const services = await deps.traces.services();
      if (!parsed.success) {
        return sendPage(
          res,
          400,
          opsViews.traceSearchPage(ctx, {
            values,
            problems: problemsOf(parsed.error),
            services,
            operations: [],
          }),
        );
      }
      const input = parsed.data;
      const window = windowOf(input);
      if (window.start > window.end) {
        return sendPage(
          res,
          400,
          opsViews.traceSearchPage(ctx, {
            values,
            problems: ['from: after to'],
            services,
            operations: [],
          }),
        );
      }
      const known = !input.service || services.includes(input.service);
      const operations = input.service && known ? await deps.traces.operations(input.service) : [];
      const results =
        input.service && known
          ? (await deps.traces.search(input, window)).map(summarize)
          : undefined;
      sendPage(
        res,
        200,
        opsViews.traceSearchPage(ctx, {
          values,
          problems: known ? [] : [`service: Jaeger knows no service ${input.service}`],
          services,
          operations,
          results: known ? results : [],
        }),
      );
    }),
  );

  router.get(
    '/ops/traces/:traceId',
    handle(deps.logger, async (req, res) => {
      const ctx = viewContext(req, res);
      if (!deps.traces) {
        return sendPage(
          res,
          503,
          views.messagePage(ctx, 'Not configured', 'No Jaeger query service is configured.'),
        );
      }
      const id = traceIdSchema.safeParse(req.params.traceId);
      if (!id.success) {
        return sendPage(
          res,
          400,
          views.messagePage(ctx, 'Bad Request', 'A trace id is 16 or 32 hexadecimal digits.'),
        );
      }
      const trace = await deps.traces.trace(id.data);
      if (!trace || trace.spans.length === 0) {
        return sendPage(
          res,
          404,
          views.messagePage(
            ctx,
            'Not Found',
            `Jaeger has no trace ${id.data} (not yet exported, sampled out, or past its retention).`,
          ),
        );
      }
      sendPage(res, 200, opsViews.tracePage(ctx, waterfall(trace), trace.warnings));
    }),
  );

  router.get(
    '/ops/logs',
    handle(deps.logger, async (req, res) => {
      const ctx = viewContext(req, res);
      const values = query(req);
      if (!deps.logs) {
        return sendPage(
          res,
          503,
          opsViews.logSearchPage(ctx, {
            values,
            problems: [],
            unavailable: 'No Elasticsearch for logs is configured (OPS_ELASTICSEARCH_URL).',
          }),
        );
      }
      const parsed = logSearchSchema.safeParse(values);
      if (!parsed.success) {
        return sendPage(
          res,
          400,
          opsViews.logSearchPage(ctx, { values, problems: problemsOf(parsed.error) }),
        );
      }
      const window = windowOf(parsed.data);
      if (window.start > window.end) {
        return sendPage(
          res,
          400,
          opsViews.logSearchPage(ctx, { values, problems: ['from: after to'] }),
        );
      }
      const result = await deps.logs.search(parsed.data, window, LOG_PAGE);
      sendPage(res, 200, opsViews.logSearchPage(ctx, { values, problems: [], result }));
    }),
  );

  return router;
}
