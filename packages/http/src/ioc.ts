/**
 * The one way a service hands its dependencies to its controllers. `wiring.ts` builds one
 * dependencies object; `createApp({ dependencies })` attaches it to the app; tsoa's IoC module
 * (this `iocContainer`, imported by every service's generated routes) constructs each controller
 * with it: `constructor(private readonly deps: Dependencies)`. The auth hook reads the token
 * verifier from the same object (`dependenciesOf(request).verifier`).
 */
import type { IocContainer, IocContainerFactory, ServiceIdentifier } from '@tsoa/runtime';
import type { Express, Request } from 'express';

const DEPENDENCIES = Symbol('cinema.dependencies');
type Holder = { [DEPENDENCIES]?: object };

/** Attaches the object `wiring.ts` built to the app (createApp does it from its options). */
export function provideDependencies(app: Express, dependencies: object): void {
  (app as unknown as Holder)[DEPENDENCIES] = dependencies;
}

/** The dependencies of the app that received the request. */
export function dependenciesOf<T extends object>(request: Pick<Request, 'app'>): T {
  const dependencies = (request.app as unknown as Holder)[DEPENDENCIES];
  if (!dependencies) throw new Error('no dependencies were wired into this app');
  return dependencies as T;
}

/** tsoa's `iocModule`: every controller takes the dependencies object by constructor. */
export const iocContainer: IocContainerFactory<Request> = (request) =>
  ({
    get<T>(controller: ServiceIdentifier<T>): T {
      return new (controller as new (dependencies: object) => T)(dependenciesOf(request));
    },
  }) as IocContainer;
