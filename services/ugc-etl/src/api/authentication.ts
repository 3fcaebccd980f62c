/**
 * tsoa's authentication module: `@Security('jwt', roles)` verifies the Bearer access token with
 * the verifier of the app serving the request (`app.locals.verifier`).
 */
import type { Request } from 'express';
import { createExpressAuthentication, type TokenVerifier } from '@cinema/auth';
import { UnauthorizedError } from '@cinema/http';

export function expressAuthentication(request: Request, securityName: string, scopes?: string[]) {
  return createExpressAuthentication(() => {
    const verifier = request.app.locals.verifier as TokenVerifier | undefined;
    if (!verifier)
      throw new UnauthorizedError('access tokens cannot be verified: no JWKS configured');
    return verifier;
  })(request, securityName, scopes);
}
