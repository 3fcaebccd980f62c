/**
 * The campaigns panel under /notifications/admin: server-rendered pages (list, compose with a
 * preview, a campaign with live progress, pause/resume/cancel, failed deliveries and retry, a
 * user's deliveries). Reads and writes through the CampaignService, as the API does. Its own CSP:
 * scripts and styles from this origin only (one script file, no inline code); the preview is a
 * sandboxed frame whose response may only carry inline styles.
 */
import { randomBytes } from 'node:crypto';
import cookieParser from 'cookie-parser';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { DomainError, ValidationError } from '@cinema/errors';
import type { TokenVerifier } from '@cinema/auth';
import type { Logger } from '@cinema/logging';
import type { AuthClient } from '@cinema/auth';
import type { CampaignService } from '../domain/campaigns';
import type { CampaignDraft } from '../domain/campaigns.model';
import { isCampaignTemplate } from '../domain/campaigns.model';
import type { TemplateRenderer } from '../domain/model';
import { ADMIN_PREFIX, adminSession, ctxOf, field, send } from './session';
import * as views from './views';

export { ADMIN_PREFIX } from './session';

export interface AdminDeps {
  campaigns: CampaignService;
  templates: TemplateRenderer;
  verifier: TokenVerifier;
  auth: AuthClient;
  logger: Logger;
  secureCookies: boolean;
}

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";
const PREVIEW_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; frame-ancestors 'self'; sandbox";

function formValues(req: Request): views.FormValues {
  const b = (req.body ?? {}) as Record<string, unknown>;
  const channels = Array.isArray(b.channels)
    ? b.channels
    : typeof b.channels === 'string'
      ? [b.channels]
      : [];
  return {
    title: field(req, 'title'),
    category: field(req, 'category'),
    channels: channels.map(String),
    template: field(req, 'template'),
    subject: field(req, 'subject'),
    body: field(req, 'body'),
    vars: field(req, 'vars'),
    audienceKind: field(req, 'audienceKind'),
    role: field(req, 'role'),
    genres: field(req, 'genres'),
    ids: field(req, 'ids'),
    sendAt: field(req, 'sendAt'),
    localTime: field(req, 'localTime') === '1',
  };
}

/** The form as a draft; the use case checks every field. */
function draftOf(v: views.FormValues): CampaignDraft {
  const vars: Record<string, string> = {};
  for (const line of (v.vars ?? '').split(/\r?\n/)) {
    const at = line.indexOf('=');
    if (at > 0) vars[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  const kind = v.audienceKind ?? 'everyone';
  const audience: CampaignDraft['audience'] =
    kind === 'role'
      ? { kind, role: v.role }
      : kind === 'genres'
        ? {
            kind,
            genres: (v.genres ?? '')
              .split(',')
              .map((g) => g.trim())
              .filter(Boolean),
          }
        : kind === 'ids'
          ? { kind: 'csv', csv: v.ids ?? '' }
          : { kind };
  const adhoc = !v.template;
  return {
    title: v.title ?? '',
    category: v.category ?? '',
    channels: v.channels ?? [],
    ...(adhoc ? { subject: v.subject, body: v.body } : { template: v.template }),
    vars,
    audience,
    sendAt: v.sendAt
      ? v.localTime
        ? v.sendAt.slice(0, 16)
        : `${v.sendAt.slice(0, 16)}:00Z`
      : undefined,
    localTime: v.localTime,
  };
}

export function adminRouter(deps: AdminDeps): Router {
  const router = Router();
  const session = adminSession(deps);
  const previews = new Map<string, { html: string; at: number }>();
  const templates = () => deps.templates.names().filter(isCampaignTemplate);
  const handle =
    (fn: (req: Request, res: Response) => Promise<void>): RequestHandler =>
    (req, res, next) => {
      fn(req, res).catch((err: unknown) => {
        if (err instanceof DomainError && err.status < 500)
          return send(res, err.status, views.message(ctxOf(res), err.title, err.message));
        next(err);
      });
    };

  router.get('/static/admin.css', (_req, res) =>
    res.type('css').setHeader('Cache-Control', 'max-age=300').send(views.STYLE),
  );
  router.get('/static/admin.js', (_req, res) =>
    res.type('js').setHeader('Cache-Control', 'max-age=300').send(views.SCRIPT),
  );
  router.use(cookieParser());
  router.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Security-Policy', CSP);
    next();
  });
  router.use(session.csrf);
  router.use(session.routes);
  router.use(session.requireRole);

  router.get('/', (_req, res) => res.redirect(303, `${ADMIN_PREFIX}/campaigns`));
  router.get(
    '/campaigns',
    handle(async (_req, res) =>
      send(res, 200, views.campaigns(ctxOf(res), await deps.campaigns.list({ limit: 100 }))),
    ),
  );
  router.get('/campaigns/new', (_req, res) =>
    send(res, 200, views.newCampaign(ctxOf(res), { values: {}, templates: templates() })),
  );
  router.post(
    '/campaigns',
    handle(async (req, res) => {
      const values = formValues(req);
      const draft = draftOf(values);
      try {
        if (field(req, 'action') === 'preview') {
          const checked = await deps.campaigns.check(draft, res.locals.principal.id as string);
          const mail = await deps.templates.email(checked.template, 'en', checked.vars);
          const token = randomBytes(16).toString('base64url');
          const now = Date.now();
          for (const [k, p] of previews) if (now - p.at > 600_000) previews.delete(k);
          previews.set(token, { html: mail.html, at: now });
          return send(
            res,
            200,
            views.preview(ctxOf(res), {
              subject: mail.subject,
              text: mail.text,
              token,
              values,
              templates: templates(),
            }),
          );
        }
        const created = await deps.campaigns.create(draft, res.locals.principal.id as string);
        res.redirect(303, `${ADMIN_PREFIX}/campaigns/${created.id}?notice=created`);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        send(
          res,
          422,
          views.newCampaign(ctxOf(res), {
            values,
            errors: err.fields,
            templates: templates(),
            error: err.message,
          }),
        );
      }
    }),
  );
  router.get('/preview/:token', (req, res) => {
    const p = previews.get(String(req.params.token));
    if (!p) return send(res, 404, 'gone');
    res.setHeader('Content-Security-Policy', PREVIEW_CSP);
    res.type('html').send(p.html);
  });
  router.get(
    '/campaigns/:id',
    handle(async (req, res) => {
      const id = String(req.params.id);
      const [c, p, failed] = await Promise.all([
        deps.campaigns.get(id),
        deps.campaigns.progress(id),
        deps.campaigns.deliveries({ campaignId: id, status: 'failed' }, { limit: 50 }),
      ]);
      const notice = {
        created: 'Campaign created.',
        paused: 'Paused.',
        resumed: 'Resumed.',
        cancelled: 'Cancelled.',
        retried: 'Failed deliveries queued again.',
      }[String(req.query.notice)];
      send(res, 200, views.campaign(ctxOf(res, notice), c, p, failed.items));
    }),
  );
  router.get(
    '/campaigns/:id/progress.json',
    handle(async (req, res) => {
      const id = String(req.params.id);
      const [c, p] = await Promise.all([deps.campaigns.get(id), deps.campaigns.progress(id)]);
      res.json({ state: c.state, ...p });
    }),
  );
  for (const [action, notice] of [
    ['pause', 'paused'],
    ['resume', 'resumed'],
    ['cancel', 'cancelled'],
  ] as const) {
    router.post(
      `/campaigns/:id/${action}`,
      handle(async (req, res) => {
        await deps.campaigns[action](String(req.params.id));
        res.redirect(
          303,
          `${ADMIN_PREFIX}/campaigns/${encodeURIComponent(String(req.params.id))}?notice=${notice}`,
        );
      }),
    );
  }
  router.post(
    '/campaigns/:id/retry',
    handle(async (req, res) => {
      await deps.campaigns.retry(String(req.params.id), field(req, 'deliveryId') || undefined);
      res.redirect(
        303,
        `${ADMIN_PREFIX}/campaigns/${encodeURIComponent(String(req.params.id))}?notice=retried`,
      );
    }),
  );
  router.get(
    '/users/:userId',
    handle(async (req, res) => {
      const page = await deps.campaigns.deliveries(
        { userId: String(req.params.userId) },
        { limit: 200 },
      );
      send(res, 200, views.userDeliveries(ctxOf(res), String(req.params.userId), page.items));
    }),
  );
  router.use((_req, res) =>
    send(res, 404, views.message(ctxOf(res), 'Not Found', 'There is no such page.')),
  );
  return router;
}
