/**
 * Emits a page-view event for every authenticated call of the catalog endpoints, once the answer
 * is sent (so the event carries its status and never delays it).
 */
import type { Request, RequestHandler } from 'express';
import type { Principal } from '@cinema/auth';
import type { PageViewEndpoint } from '../adapters/page-views.producer';

/** Express route path -> page-view endpoint (docs/contracts.md). */
export const ROUTE_ENDPOINTS: Record<string, PageViewEndpoint> = {
  '/api/v1/films': 'get_films',
  '/api/v1/films/search': 'search_films_by_keyword',
  '/api/v1/films/:film_id': 'get_film_by_id',
  '/api/v1/genres': 'get_genres',
  '/api/v1/genres/:genre_id': 'get_genre_by_id',
  '/api/v1/persons/search': 'search_persons_by_keyword',
  '/api/v1/persons/:person_id': 'get_person_by_id',
  '/api/v1/persons/:person_id/film': 'get_person_by_id',
};

/** Longest parameter value carried in an event. */
const MAX_PARAM = 256;

export interface PageViewSink {
  emit(
    endpoint: PageViewEndpoint,
    event: {
      user_id: string;
      endpoint: string;
      params: Record<string, string>;
      status_code: number;
      /** Matches in all pages, for the list and search endpoints (the answer's `total`). */
      result_count?: number;
    },
  ): void;
}

export function pageViews(sink: PageViewSink): RequestHandler {
  return (req, res, next) => {
    // The answer's `total` (list and search endpoints) is noted as it is sent.
    let resultCount: number | undefined;
    const json = res.json.bind(res);
    res.json = (body?: unknown) => {
      const total = (body as { total?: unknown } | null | undefined)?.total;
      if (typeof total === 'number' && Number.isInteger(total) && total >= 0) resultCount = total;
      return json(body);
    };
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path;
      const endpoint = route ? ROUTE_ENDPOINTS[route] : undefined;
      const user = (req as Request & { user?: Principal }).user;
      if (!endpoint || !user?.id) return;
      sink.emit(endpoint, {
        user_id: user.id,
        endpoint: endpointPath(route!),
        params: stringParams({ ...req.query, ...req.params }),
        status_code: res.statusCode,
        ...(resultCount !== undefined && { result_count: resultCount }),
      });
    });
    next();
  };
}

/** Express route path -> the endpoint as events name it: `/api/v1/films/{film_id}`. */
export function endpointPath(route: string): string {
  return route.replace(/:(\w+)/g, '{$1}');
}

export function stringParams(raw: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    const s = Array.isArray(v)
      ? v.map(String).join(',')
      : typeof v === 'object'
        ? JSON.stringify(v)
        : String(v);
    out[k.slice(0, 64)] = s.length > MAX_PARAM ? s.slice(0, MAX_PARAM) : s;
  }
  return out;
}
