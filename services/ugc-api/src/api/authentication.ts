/** tsoa's authentication module: `@Security('jwt', roles)` resolves with the app's verifier. */
import type { Request } from 'express';
import { createExpressAuthentication, type Principal, type TokenVerifier } from '@cinema/auth';

export const VERIFIER_KEY = 'tokenVerifier';

export function expressAuthentication(
  request: Request,
  securityName: string,
  scopes?: string[],
): Promise<Principal> {
  return createExpressAuthentication(() => {
    const verifier = request.app.locals[VERIFIER_KEY] as TokenVerifier | undefined;
    if (!verifier) throw new Error('token verifier not configured');
    return verifier;
  })(request, securityName, scopes);
}
