/**
 * The analytics page under /analytics: log in (auth's login API), pick a time range and a film,
 * see six charts with their numbers. The page reads the same ChartReader methods as the JSON
 * endpoints of ChartsController (no query of its own). Its own CSP: scripts and styles from this
 * origin only (ECharts from node_modules and one script file, no inline code).
 */
import * as fs from 'node:fs';
import cookieParser from 'cookie-parser';
import { Router, type RequestHandler, type Response } from 'express';
import { ValidationError } from '@cinema/errors';
import {
  panelSession,
  sendHtml as send,
  type AuthClient,
  type Principal,
  type TokenVerifier,
} from '@cinema/auth';
import type { Logger } from '@cinema/logging';
import { chartRange, type ChartReader } from '../domain/charts';
import { SCRIPT } from './client';
import * as views from './views';

export const PAGE_PREFIX = '/analytics';
const COOKIES = { access: 'ua_access', refresh: 'ua_refresh', csrf: 'ua_csrf' } as const;

const ctxOf = (res: Response): views.ViewContext => {
  const user = res.locals.principal as Principal | undefined;
  return { csrf: res.locals.csrf as string, user: user && { id: user.id, email: user.email } };
};

export interface PageDeps {
  charts: ChartReader;
  verifier: TokenVerifier;
  logger: Logger;
  /** Unset: no auth service configured, the page answers 503. */
  page?: { auth: AuthClient; secureCookies: boolean };
}

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";
const UUID = /^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/;
/** `datetime-local` values carry no zone: the page says they are UTC. */
const LOCAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;

const one = (v: unknown): string => (typeof v === 'string' ? v : '');

let echartsFile: Buffer | undefined;
const echarts = (): Buffer =>
  (echartsFile ??= fs.readFileSync(require.resolve('echarts/dist/echarts.min.js')));

export function pageRouter(deps: PageDeps): Router {
  const router = Router();
  const asset =
    (type: string, body: () => string | Buffer): RequestHandler =>
    (_req, res) =>
      res.type(type).setHeader('Cache-Control', 'max-age=3600').send(body());
  router.get(
    '/static/analytics.css',
    asset('css', () => views.STYLE),
  );
  router.get(
    '/static/analytics.js',
    asset('js', () => SCRIPT),
  );
  router.get('/static/echarts.min.js', asset('js', echarts));
  router.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Security-Policy', CSP);
    next();
  });
  const page = deps.page;
  if (!page) {
    router.use((_req, res) =>
      send(
        res,
        503,
        views.message(
          { csrf: '' },
          'Unavailable',
          'No auth service is configured (AUTH_URL or AUTH_JWKS_URL): nobody can log in.',
        ),
      ),
    );
    return router;
  }
  // Login through auth, cookies scoped to the page, CSRF, admin/super_user only (@cinema/auth).
  const session = panelSession({
    prefix: PAGE_PREFIX,
    cookies: COOKIES,
    home: `${PAGE_PREFIX}/`,
    name: 'analytics page',
    verifier: deps.verifier,
    auth: page.auth,
    logger: deps.logger,
    secureCookies: page.secureCookies,
    pages: {
      login: (_req, res, state) => views.login(ctxOf(res), state),
      message: (_req, res, title, text) => views.message(ctxOf(res), title, text),
    },
  });
  router.use(cookieParser());
  router.use(session.csrf);
  router.use(session.routes);
  router.use(session.requireRole);

  router.get('/', (req, res, next) => {
    const preset = one(req.query.range) || '24';
    const fromText = one(req.query.from);
    const toText = one(req.query.to);
    const film = one(req.query.film);
    (async () => {
      const now = new Date();
      let from: string | undefined;
      let to: string | undefined;
      if (preset === 'custom') {
        from = LOCAL.test(fromText) ? `${fromText}Z` : fromText || undefined;
        to = LOCAL.test(toText) ? `${toText}Z` : toText || undefined;
      } else {
        const hours = Number(preset);
        if (!views.PRESETS.some(([v]) => v === preset) || !Number.isFinite(hours))
          throw new ValidationError('unknown time range', { range: { message: 'unknown' } });
        to = now.toISOString();
        from = new Date(now.getTime() - hours * 3_600_000).toISOString();
      }
      if (film && !UUID.test(film))
        throw new ValidationError('the film is not a UUID', { film: { message: 'not a UUID' } });
      const range = chartRange(from, to, now);
      const filmId = film ? film.toLowerCase() : undefined;
      const [films, heatmap, quality, fullViews, pageViews, searches, active] = await Promise.all([
        deps.charts.films(range, 100),
        deps.charts.pauseHeatmap(range, filmId, 12),
        deps.charts.qualitySwitches(range, filmId),
        deps.charts.fullViewRate(range, 10, 1),
        deps.charts.pageViews(range),
        deps.charts.searches(range, 15),
        deps.charts.activeViewers(range, filmId),
      ]);
      const local = (d: Date) => d.toISOString().slice(0, 16);
      send(
        res,
        200,
        views.dashboard(ctxOf(res), {
          picked: { preset, from: local(range.from), to: local(range.to), film: filmId ?? '' },
          range: { from: range.from.toISOString(), to: range.to.toISOString() },
          films,
          heatmap,
          quality,
          fullViews,
          pageViews,
          searches,
          active,
        }),
      );
    })().catch((err: unknown) => {
      if (err instanceof ValidationError)
        return send(
          res,
          422,
          views.message(
            ctxOf(res),
            'Cannot show this range',
            `${err.message}: ${Object.entries(err.fields)
              .map(([k, v]) => `${k} ${v.message}`)
              .join('; ')}`,
          ),
        );
      next(err);
    });
  });
  return router;
}
