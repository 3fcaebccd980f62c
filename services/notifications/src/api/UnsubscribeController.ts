import type { Request as ExpressRequest } from 'express';
import { Controller, Get, Post, Query, Request, Response, Route, Tags } from '@tsoa/runtime';
import { escapeHtml } from '@cinema/html';
import type { ProblemDetails } from '@cinema/http';
import type { Dependencies } from '../wiring';
import type { UnsubscribeResult } from './types';

/**
 * RFC 8058 one-click unsubscribe, without login: the signed token in the link names the user and
 * the category. POST turns the category off on e-mail (mail clients post
 * `List-Unsubscribe=One-Click`); GET only shows a page with the button (link scanners prefetch GETs).
 */
@Route('api/v1/notifications/unsubscribe')
@Tags('Preferences')
export class UnsubscribeController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /** @param token the signed token of the mail's link */
  @Post()
  @Response<ProblemDetails>(400, 'Invalid or forged token, or a category that cannot be turned off')
  async unsubscribe(@Query() token: string): Promise<UnsubscribeResult> {
    const { category } = await this.deps.settings.unsubscribe(token);
    return { unsubscribed: true, category };
  }

  /** A confirmation page whose button posts the token (nothing changes on GET). */
  @Get()
  @Response<string>(200, 'The confirmation page', undefined, 'text/html')
  async page(@Request() req: ExpressRequest, @Query() token: string): Promise<void> {
    const res = req.res!;
    res
      .status(200)
      .type('html')
      .setHeader('Cache-Control', 'no-store')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unsubscribe</title></head>` +
          `<body><form method="post" action="?token=${escapeHtml(encodeURIComponent(token))}">` +
          `<input type="hidden" name="List-Unsubscribe" value="One-Click">` +
          `<p>Stop e-mails of this kind from Cinema?</p><button type="submit">Unsubscribe</button></form></body></html>`,
      );
  }
}
