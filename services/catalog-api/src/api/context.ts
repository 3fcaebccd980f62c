/** What controllers need from the app they are mounted in (set by buildApp). */
import type { Request } from 'express';
import type { CatalogService } from '../domain/catalog';

export function catalog(req: Request): CatalogService {
  return req.app.locals.catalog as CatalogService;
}
