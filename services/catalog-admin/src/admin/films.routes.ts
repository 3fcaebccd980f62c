/**
 * Admin pages of films: list and search, create, edit, delete, and attach or detach genres and
 * persons (with a role). A rejected form is shown again with the reasons.
 */
import { Router, type Request, type Response } from 'express';
import { DomainError, ValidationError } from '@cinema/errors';
import {
  body,
  field,
  handle,
  param,
  sendPage,
  viewContext,
  type CatalogRouteDeps,
  type Handler,
} from './pages';
import * as views from './views';

export function filmsRoutes({ catalog, logger }: CatalogRouteDeps): Router {
  const router = Router();

  router.get(
    '/films',
    handle(logger, async (req, res) => {
      const { q, page } = await catalog.listFilms(req.query);
      sendPage(res, 200, views.filmsPage(viewContext(req, res), page, q));
    }),
  );

  router.get(
    '/films/new',
    handle(logger, async (req, res) => {
      sendPage(res, 200, views.filmForm(viewContext(req, res), { values: { type: 'movie' } }));
    }),
  );

  router.post(
    '/films',
    handle(logger, async (req, res) => {
      try {
        const id = await catalog.createFilm(body(req));
        res.redirect(303, `/admin/films/${id}?notice=created`);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        sendPage(
          res,
          422,
          views.filmForm(viewContext(req, res), {
            values: body(req),
            errors: err.fields,
            message: err.message,
          }),
        );
      }
    }),
  );

  /** The film's page (its form, genres and persons), with what the editor sent when rejected. */
  const filmPage = async (
    req: Request,
    res: Response,
    status = 200,
    extra: {
      values?: Record<string, unknown>;
      errors?: ValidationError['fields'];
      message?: string;
      linkError?: string;
    } = {},
  ) => {
    const { film, genres } = await catalog.filmEditor(param(req, 'id'));
    sendPage(
      res,
      status,
      views.filmForm(viewContext(req, res), {
        film,
        genres,
        values: extra.values ?? film,
        ...extra,
      }),
    );
  };

  router.get(
    '/films/:id',
    handle(logger, (req, res) => filmPage(req, res)),
  );

  router.post(
    '/films/:id',
    handle(logger, async (req, res) => {
      try {
        await catalog.updateFilm(param(req, 'id'), body(req));
        res.redirect(303, `/admin/films/${param(req, 'id')}?notice=saved`);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        await filmPage(req, res, 422, {
          values: body(req),
          errors: err.fields,
          message: err.message,
        });
      }
    }),
  );

  router.post(
    '/films/:id/delete',
    handle(logger, async (req, res) => {
      await catalog.deleteFilm(param(req, 'id'));
      res.redirect(303, '/admin/films?notice=deleted');
    }),
  );

  /** A link change that fails for the editor's reason re-renders the film with the reason. */
  const linkAction =
    (fn: (req: Request) => Promise<void>, notice: string): Handler =>
    async (req, res) => {
      try {
        await fn(req);
        res.redirect(303, `/admin/films/${param(req, 'id')}?notice=${notice}`);
      } catch (err) {
        if (!(err instanceof DomainError) || err.status >= 500 || err.status === 401) throw err;
        // The film itself missing is a plain 404 page (thrown again by filmPage).
        await filmPage(req, res, err.status, { linkError: err.message });
      }
    };

  router.post(
    '/films/:id/genres',
    handle(
      logger,
      linkAction(
        (req) => catalog.attachGenre(param(req, 'id'), field(req, 'genreId')),
        'genre-added',
      ),
    ),
  );
  router.post(
    '/films/:id/genres/:genreId/delete',
    handle(
      logger,
      linkAction(
        (req) => catalog.detachGenre(param(req, 'id'), param(req, 'genreId')),
        'genre-removed',
      ),
    ),
  );
  router.post(
    '/films/:id/persons',
    handle(
      logger,
      linkAction(
        (req) => catalog.attachPerson(param(req, 'id'), field(req, 'person'), field(req, 'role')),
        'person-added',
      ),
    ),
  );
  router.post(
    '/films/:id/persons/:linkId/delete',
    handle(
      logger,
      linkAction(
        (req) => catalog.detachPerson(param(req, 'id'), param(req, 'linkId')),
        'person-removed',
      ),
    ),
  );

  return router;
}
