/**
 * tsoa's authentication module. The collector has no `@Security` routes (the viewer may be
 * anonymous; the token is optional and verified in the intake), so every scheme is refused.
 */
import { UnauthorizedError } from '@cinema/http';

export async function expressAuthentication(): Promise<never> {
  throw new UnauthorizedError('no security scheme on this service');
}
