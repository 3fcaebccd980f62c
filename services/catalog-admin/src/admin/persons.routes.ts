/**
 * Admin pages of persons: list and search, create, edit, delete (their links to films go with
 * them); a person's page lists their films by role. A rejected form is shown again with the
 * reasons.
 */
import { Router } from 'express';
import { ValidationError } from '@cinema/errors';
import { body, handle, param, sendPage, viewContext, type CatalogRouteDeps } from './pages';
import * as views from './views';

export function personsRoutes({ catalog, logger }: CatalogRouteDeps): Router {
  const router = Router();

  router.get(
    '/persons',
    handle(logger, async (req, res) => {
      const { q, page } = await catalog.listPersons(req.query);
      sendPage(res, 200, views.personsPage(viewContext(req, res), page, q));
    }),
  );

  router.get(
    '/persons/new',
    handle(logger, async (req, res) =>
      sendPage(res, 200, views.personForm(viewContext(req, res), { values: {} })),
    ),
  );

  router.post(
    '/persons',
    handle(logger, async (req, res) => {
      try {
        const id = await catalog.createPerson(body(req));
        res.redirect(303, `/admin/persons/${id}?notice=created`);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        sendPage(
          res,
          422,
          views.personForm(viewContext(req, res), {
            values: body(req),
            errors: err.fields,
            message: err.message,
          }),
        );
      }
    }),
  );

  router.get(
    '/persons/:id',
    handle(logger, async (req, res) => {
      const person = await catalog.person(param(req, 'id'));
      sendPage(res, 200, views.personForm(viewContext(req, res), { person, values: person }));
    }),
  );

  router.post(
    '/persons/:id',
    handle(logger, async (req, res) => {
      try {
        await catalog.updatePerson(param(req, 'id'), body(req));
        res.redirect(303, `/admin/persons/${param(req, 'id')}?notice=saved`);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        const person = await catalog.person(param(req, 'id'));
        sendPage(
          res,
          422,
          views.personForm(viewContext(req, res), {
            person,
            values: body(req),
            errors: err.fields,
            message: err.message,
          }),
        );
      }
    }),
  );

  router.post(
    '/persons/:id/delete',
    handle(logger, async (req, res) => {
      await catalog.deletePerson(param(req, 'id'));
      res.redirect(303, '/admin/persons?notice=deleted');
    }),
  );

  return router;
}
