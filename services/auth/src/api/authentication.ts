/** tsoa's authentication module: `@Security('jwt', roles)` resolves here. */
import { createExpressAuthentication, type TokenVerifier } from '@cinema/auth';

let verifier: TokenVerifier | undefined;

export function setTokenVerifier(v: TokenVerifier): void {
  verifier = v;
}

export const expressAuthentication = createExpressAuthentication(() => {
  if (!verifier) throw new Error('token verifier not configured');
  return verifier;
});
