import type { Express } from 'express';
import {
  createApp,
  mountDocs,
  swaggerCsp,
  type Lifecycle,
  type ReadinessCheck,
} from '@cinema/http';
import type { Logger } from '@cinema/logging';
import type { OAuthLogin } from './adapters/google.oauth';
import type { KeyStore } from './adapters/signing-keys.repository';
import { setApiContext } from './api/context';
import type { Config } from './config';
import type { AuthService } from './domain/auth.service';
import { RegisterRoutes } from './generated/routes';
import spec from './generated/swagger.json';

export interface AppDeps {
  config: Readonly<Config>;
  logger: Logger;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
  auth: AuthService;
  keys: KeyStore;
  google?: OAuthLogin;
}

export function buildApp(deps: AppDeps): Express {
  setApiContext({
    auth: deps.auth,
    keys: deps.keys,
    google: deps.google,
    oauthSuccessRedirect: deps.config.OAUTH_SUCCESS_REDIRECT_URL,
  });
  return createApp({
    name: 'auth',
    logger: deps.logger,
    lifecycle: deps.lifecycle,
    // CORS for the configured origins: browser apps (admin panels, player) call login/refresh.
    corsOrigins: deps.config.CORS_ORIGINS,
    bodyLimit: deps.config.BODY_LIMIT,
    readiness: deps.readiness,
    contentSecurityPolicy: swaggerCsp,
    routes: (app) => {
      mountDocs(app, spec);
      RegisterRoutes(app);
    },
  });
}
