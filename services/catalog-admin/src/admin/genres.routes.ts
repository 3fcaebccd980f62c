/**
 * Admin pages of genres: list and search, create, rename or describe, delete (its links to films
 * go with it). A rejected form (bad field, duplicate name) is shown again with the reason.
 */
import { Router, type Request, type Response } from 'express';
import { DomainError, ValidationError } from '@cinema/errors';
import type { Genre } from '../domain/catalog';
import { body, handle, param, sendPage, viewContext, type CatalogRouteDeps } from './pages';
import * as views from './views';

/** Only the editor's own mistakes re-render the form: invalid fields (422), a taken name (409). */
const formError = (err: unknown): err is DomainError =>
  err instanceof DomainError && (err.status === 422 || err.status === 409);

function rejectedForm(req: Request, res: Response, err: DomainError, genre?: Genre): void {
  sendPage(
    res,
    err.status,
    views.genreForm(viewContext(req, res), {
      genre,
      values: body(req),
      errors: err instanceof ValidationError ? err.fields : {},
      message: err.message,
    }),
  );
}

export function genresRoutes({ catalog, logger }: CatalogRouteDeps): Router {
  const router = Router();

  router.get(
    '/genres',
    handle(logger, async (req, res) => {
      const { q, page } = await catalog.listGenres(req.query);
      sendPage(res, 200, views.genresPage(viewContext(req, res), page, q));
    }),
  );

  router.get(
    '/genres/new',
    handle(logger, async (req, res) =>
      sendPage(res, 200, views.genreForm(viewContext(req, res), { values: {} })),
    ),
  );

  router.post(
    '/genres',
    handle(logger, async (req, res) => {
      try {
        const id = await catalog.createGenre(body(req));
        res.redirect(303, `/admin/genres/${id}?notice=created`);
      } catch (err) {
        if (!formError(err)) throw err;
        rejectedForm(req, res, err);
      }
    }),
  );

  router.get(
    '/genres/:id',
    handle(logger, async (req, res) => {
      const genre = await catalog.genre(param(req, 'id'));
      sendPage(res, 200, views.genreForm(viewContext(req, res), { genre, values: genre }));
    }),
  );

  router.post(
    '/genres/:id',
    handle(logger, async (req, res) => {
      try {
        await catalog.updateGenre(param(req, 'id'), body(req));
        res.redirect(303, `/admin/genres/${param(req, 'id')}?notice=saved`);
      } catch (err) {
        if (!formError(err)) throw err;
        rejectedForm(req, res, err, await catalog.genre(param(req, 'id')));
      }
    }),
  );

  router.post(
    '/genres/:id/delete',
    handle(logger, async (req, res) => {
      await catalog.deleteGenre(param(req, 'id'));
      res.redirect(303, '/admin/genres?notice=deleted');
    }),
  );

  return router;
}
