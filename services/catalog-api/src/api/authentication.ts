/**
 * tsoa's authentication module: `@Security('jwt', roles)` resolves here. The verifier is the
 * app's own (`app.locals.tokenVerifier`), so several apps can live in one process.
 */
import type { Request } from 'express';
import { createExpressAuthentication, type Principal, type TokenVerifier } from '@cinema/auth';

export function expressAuthentication(
  request: Request,
  securityName: string,
  scopes?: string[],
): Promise<Principal> {
  return createExpressAuthentication(() => {
    const verifier = request.app.locals.tokenVerifier as TokenVerifier | undefined;
    if (!verifier) throw new Error('token verifier not configured');
    return verifier;
  })(request, securityName, scopes);
}
