/**
 * tsoa's IoC hook: controllers get the dependencies of the app that serves the request
 * (`app.locals.deps`), so several apps (tests) can live in one process.
 */
import type { IocContainer, ServiceIdentifier } from '@tsoa/runtime';
import type { Request } from 'express';
import type { CatalogRepository } from '../adapters/catalog.repository';

export interface ControllerDeps {
  catalog: CatalogRepository;
}

type Ctor = new (deps: ControllerDeps) => unknown;

export const iocContainer = (request: Request): IocContainer => ({
  get<T>(controller: ServiceIdentifier<T>): T {
    if (typeof controller !== 'function') throw new Error('controllers are classes');
    return new (controller as Ctor)(request.app.locals.deps as ControllerDeps) as T;
  },
});
