/** tsoa's IoC module: controllers get the services of the app that received the request. */
import type { IocContainer, IocContainerFactory, ServiceIdentifier } from '@tsoa/runtime';
import type { Request } from 'express';
import type { BookmarksService } from './domain/bookmarks';
import type { RatingsService } from './domain/ratings';
import type { ReviewsService } from './domain/reviews';

export interface Services {
  bookmarks: BookmarksService;
  ratings: RatingsService;
  reviews: ReviewsService;
}

export const SERVICES_KEY = 'ugcServices';

export const iocContainer: IocContainerFactory<Request> = (request) =>
  ({
    get<T>(controller: ServiceIdentifier<T>): T {
      const services = request.app.locals[SERVICES_KEY] as Services | undefined;
      if (!services) throw new Error('ugc services are not wired into this app');
      return new (controller as new (services: Services) => T)(services);
    },
  }) as IocContainer;
