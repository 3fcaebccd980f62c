/** What the controllers call into, set once by buildApp (tsoa creates controllers itself). */
import type { Request } from 'express';
import type { Principal } from '@cinema/auth';
import type { OAuthLogin } from '../adapters/google.oauth';
import type { KeyStore } from '../adapters/signing-keys.repository';
import type { AuthService } from '../domain/auth.service';
import type { ClientInfo } from '../domain/model';

export interface ApiContext {
  auth: AuthService;
  keys: KeyStore;
  /** Undefined when no Google client is configured. */
  google?: OAuthLogin;
  /** OAUTH_SUCCESS_REDIRECT_URL: browsers are sent there with the tokens in the fragment. */
  oauthSuccessRedirect?: string;
}

let context: ApiContext | undefined;

export function setApiContext(c: ApiContext): void {
  context = c;
}

export function api(): ApiContext {
  if (!context) throw new Error('API context not configured');
  return context;
}

export function clientOf(req: Request): ClientInfo {
  return { ip: req.ip, userAgent: req.get('user-agent')?.slice(0, 512) };
}

export function principalOf(req: Request): Principal {
  return (req as Request & { user: Principal }).user;
}
