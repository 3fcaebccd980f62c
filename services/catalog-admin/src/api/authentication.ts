/** tsoa's authentication module: `@Security('jwt', roles)` resolves here. */
import { createExpressAuthentication, type TokenVerifier } from '@cinema/auth';
import type { Request } from 'express';

/** The verifier of the app serving the request (`app.locals.verifier`). */
export function expressAuthentication(request: Request, securityName: string, scopes?: string[]) {
  return createExpressAuthentication(() => request.app.locals.verifier as TokenVerifier)(
    request,
    securityName,
    scopes,
  );
}
