/**
 * Replay of cached answers ahead of Express.
 *
 * A warm catalog answer costs the service ~0.6 ms of CPU, most of it Express, tsoa and the
 * middleware chain around a cache lookup that itself takes microseconds; at 1,000 requests/s on
 * the 2-core machine that left little room and a long tail. So when the app sends a cached
 * answer (`remember`, from `res.json`), the request URL is kept with that answer; a later `GET`
 * of exactly that URL is answered here when all of these hold, and otherwise goes the Express way
 * as before:
 *
 * - no `Origin` header (CORS answers stay Express's) and a well-formed Bearer token that the
 *   app's verifier accepts (every catalog endpoint is `@Security('jwt')` without roles);
 * - the cache says the answer is still current, by the rule of its in-process hits (same
 *   generation, read at most `CACHE_LOCAL_CHECK_MS` ago, younger than the TTL): so this path
 *   never serves an answer the ETL has since changed for longer than the cache would.
 *
 * The answer is the same: status 200, the bytes the cache kept, the app's static headers
 * (helmet, CORS), `X-Request-Id`, `Content-Type`; the request is counted in the app's duration
 * histogram and cache hits, access-logged, and its page-view event is emitted as the Express
 * path does. Invalid input never reaches here: only URLs the app already answered 200 are kept.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { trace } from '@opentelemetry/api';
import * as client from 'prom-client';
import { bearerToken, type TokenVerifier } from '@cinema/auth';
import { logAccess, requestIdOf, type FastHandler } from '@cinema/http';
import { requestContext, type Logger } from '@cinema/logging';
import type { PageViewEndpoint } from '../adapters/page-views.producer';
import { endpointPath, type PageViewSink } from './page-views';

export interface ReplayCache {
  isCurrent(answer: object): boolean | undefined;
  refreshGeneration(): Promise<void>;
}

interface Kept {
  answer: object;
  bytes: Buffer;
  /** Express route path, e.g. /api/v1/films/:film_id (metrics label, page-view endpoint). */
  route: string;
  endpoint: PageViewEndpoint;
  params: Record<string, string>;
}

export interface AnswerReplayOptions {
  cache: ReplayCache;
  verifier: TokenVerifier;
  pageViews: PageViewSink;
  logger: Logger;
  /** URLs kept at most (least recently used go first); 0 turns the replay off. */
  maxEntries: number;
  registry: client.Registry;
}

export class AnswerReplay {
  private readonly kept = new Map<string, Kept>();
  private staticHeaders: ReadonlyArray<readonly [string, string]> = [];
  private duration: client.Histogram<'method' | 'route' | 'status'> | undefined;
  private readonly replayed: client.Counter;

  constructor(private readonly options: AnswerReplayOptions) {
    this.replayed = new client.Counter({
      name: 'catalog_api_replayed_answers_total',
      help: 'Cached answers sent ahead of Express (answer replay)',
      registers: [options.registry],
    });
  }

  /** The app's headers and duration histogram (app.locals of @cinema/http's createApp). */
  attach(locals: Record<string, unknown>): void {
    this.staticHeaders = locals.staticHeaders as Array<[string, string]>;
    this.duration = locals.requestDuration as client.Histogram<'method' | 'route' | 'status'>;
  }

  /** Keeps `url` -> the cached answer just sent for it (a GET answered 200). */
  remember(url: string, kept: Kept): void {
    if (this.options.maxEntries <= 0) return;
    this.kept.delete(url);
    this.kept.set(url, kept);
    if (this.kept.size > this.options.maxEntries) {
      this.kept.delete(this.kept.keys().next().value as string);
    }
  }

  readonly handle: FastHandler = (req, res, fallback) => {
    if (req.method !== 'GET' || req.headers.origin !== undefined) return fallback();
    const url = req.url ?? '';
    const kept = this.kept.get(url);
    if (!kept) return fallback();
    const token = bearerToken({
      header: ((name: string) => req.headers[name.toLowerCase()]) as never,
    });
    if (!token) return fallback();
    const started = process.hrtime.bigint();
    const current = this.options.cache.isCurrent(kept.answer);
    if (current === false) {
      this.kept.delete(url);
      return fallback();
    }
    // Whatever goes wrong from here on hands the request to Express, once.
    let handed = false;
    const slow = () => {
      if (handed || res.headersSent) return;
      handed = true;
      fallback();
    };
    this.options
      .verifier(token)
      .then(
        async (principal) => {
          if (current === undefined) {
            await this.options.cache.refreshGeneration();
            if (this.options.cache.isCurrent(kept.answer) !== true) {
              this.kept.delete(url);
              return slow();
            }
          }
          // Most recently used goes last.
          this.kept.delete(url);
          this.kept.set(url, kept);
          this.send(req, res, url, kept, principal.id, started);
        },
        // Expired, tampered, unknown key...: Express answers 401 problem+json as always.
        () => slow(),
      )
      .catch((err: unknown) => {
        this.options.logger.warn({ err }, 'answer replay failed; answering through Express');
        slow();
      });
  };

  private send(
    req: IncomingMessage,
    res: ServerResponse,
    url: string,
    kept: Kept,
    userId: string,
    started: bigint,
  ): void {
    const requestId = requestIdOf(req);
    trace.getActiveSpan()?.setAttribute('http.request_id', requestId);
    for (const [name, value] of this.staticHeaders) res.setHeader(name, value);
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', kept.bytes.length);
    res.statusCode = 200;
    res.end(kept.bytes);
    this.replayed.inc();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.duration?.observe({ method: 'GET', route: kept.route, status: '200' }, seconds);
    const { logger } = this.options;
    if (logger.isLevelEnabled('info')) {
      requestContext.run({ requestId }, () =>
        logAccess(logger, req, url, 200, Math.round(seconds * 1000)),
      );
    }
    this.options.pageViews.emit(kept.endpoint, {
      user_id: userId,
      endpoint: endpointPath(kept.route),
      params: kept.params,
      status_code: 200,
    });
  }
}
