/**
 * OAuth2 / OpenID Connect login with Google through passport (passport-openidconnect). Every
 * provider URL is configurable, so the same code runs against Google or any OpenID provider
 * (the tests use a local oidc-provider). The authorization-request state lives in Redis for
 * ten minutes and is bound to the browser by an HttpOnly cookie (no login CSRF), the request
 * carries a nonce, and the ID token's signature is checked against the provider's JWKS.
 */
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Redis } from 'ioredis';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import passport from 'passport';
import { Strategy, type Profile } from 'passport-openidconnect';
import {
  BadRequestError,
  ForbiddenError,
  ServiceUnavailableError,
  UnauthorizedError,
} from '@cinema/errors';
import type { OAuthIdentity } from '../domain/auth.service';

export interface GoogleOAuthOptions {
  clientId: string;
  clientSecret: string;
  issuer: string;
  authorizationUrl: string;
  tokenUrl: string;
  userInfoUrl: string;
  jwksUrl: string;
  callbackUrl: string;
  scopes: readonly string[];
  redis: Redis;
  keyPrefix: string;
}

export interface OAuthLogin {
  /** Redirects the browser to the provider. */
  start(req: Request, res: Response): Promise<void>;
  /** Completes the login: the provider's verified identity. */
  callback(req: Request, res: Response): Promise<OAuthIdentity>;
}

const COOKIE = 'cinema_oauth_state';
const STATE_TTL_SECONDS = 600;

function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

interface StateContext {
  nonce?: string;
  maxAge?: number;
  issued?: string;
}

export function createGoogleOAuth(o: GoogleOAuthOptions): OAuthLogin {
  const key = (handle: string) => `${o.keyPrefix}:oauth:state:${handle}`;
  const secure = o.callbackUrl.startsWith('https:');
  const jwks = createRemoteJWKSet(new URL(o.jwksUrl));

  const store = {
    store(
      req: Request,
      ctx: StateContext,
      _appState: unknown,
      _meta: unknown,
      cb: (err: Error | null, handle?: string) => void,
    ) {
      const handle = randomBytes(24).toString('base64url');
      o.redis
        .set(key(handle), JSON.stringify(ctx), 'EX', STATE_TTL_SECONDS)
        .then(() => {
          req.res!.cookie(COOKIE, handle, {
            httpOnly: true,
            sameSite: 'lax',
            secure,
            path: '/auth/oauth',
            maxAge: STATE_TTL_SECONDS * 1000,
          });
          cb(null, handle);
        })
        .catch((err: Error) => cb(err));
    },
    verify(
      req: Request,
      handle: string,
      cb: (err: Error | null, ctx?: StateContext | false, state?: unknown) => void,
    ) {
      const bound = readCookie(req, COOKIE);
      req.res!.clearCookie(COOKIE, { path: '/auth/oauth' });
      if (typeof handle !== 'string' || !bound || bound !== handle) {
        cb(null, false, { message: 'the login was not started in this browser' });
        return;
      }
      o.redis
        .getdel(key(handle))
        .then((raw) => {
          if (!raw) return cb(null, false, { message: 'the login request expired or was used' });
          const ctx = JSON.parse(raw) as StateContext;
          cb(null, { ...ctx }, undefined);
        })
        .catch((err: Error) => cb(err));
    },
  };

  const strategy = new Strategy(
    {
      issuer: o.issuer,
      authorizationURL: o.authorizationUrl,
      tokenURL: o.tokenUrl,
      userInfoURL: o.userInfoUrl,
      clientID: o.clientId,
      clientSecret: o.clientSecret,
      callbackURL: o.callbackUrl,
      scope: o.scopes.filter((s) => s !== 'openid'),
      nonce: 'true',
      store: store as never,
    } as never,
    // The 9-argument form: passport also fetches the userinfo (email_verified lives there).
    ((
      _issuer: string,
      uiProfile: Profile,
      idProfile: Profile,
      context: StateContext,
      idToken: string,
      _accessToken: string,
      _refreshToken: string,
      _params: unknown,
      done: (err: Error | null, user?: unknown) => void,
    ): void => {
      jwtVerify(idToken, jwks, {
        issuer: o.issuer,
        audience: o.clientId,
        algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'],
      })
        .then(({ payload }) => {
          if (context.nonce && payload.nonce !== context.nonce) {
            throw new UnauthorizedError('the ID token nonce does not match');
          }
          const info = {
            ...(idProfile as { _json?: Record<string, unknown> })._json,
            ...(uiProfile as { _json?: Record<string, unknown> })._json,
            ...payload,
          };
          const verified = info.email_verified === true || info.email_verified === 'true';
          const identity: OAuthIdentity = {
            provider: 'google',
            subject: String(payload.sub),
            email: typeof info.email === 'string' ? info.email : undefined,
            emailVerified: verified,
            firstName: typeof info.given_name === 'string' ? info.given_name : undefined,
            lastName: typeof info.family_name === 'string' ? info.family_name : undefined,
          };
          done(null, identity);
        })
        .catch((err: Error) => done(err));
    }) as never,
  );
  const instance = new passport.Passport();
  instance.use('google', strategy as unknown as passport.Strategy);

  return {
    start(req, res) {
      return new Promise<void>((resolve, reject) => {
        res.once('finish', () => resolve());
        instance.authenticate('google', { session: false })(req, res, (err: unknown) =>
          reject(err ?? new Error('the OAuth start did not redirect')),
        );
      });
    },
    callback(req, res) {
      return new Promise<OAuthIdentity>((resolve, reject) => {
        if (typeof req.query.error === 'string') {
          reject(new ForbiddenError(`the provider refused the login: ${req.query.error}`));
          return;
        }
        if (typeof req.query.code !== 'string' || typeof req.query.state !== 'string') {
          reject(new BadRequestError('code and state are required'));
          return;
        }
        instance.authenticate(
          'google',
          { session: false },
          (err: unknown, user: OAuthIdentity | false, info: { message?: string } | undefined) => {
            if (err) {
              const e = err as Error & { code?: string; name: string };
              if (e instanceof UnauthorizedError) reject(e);
              else if (e.name === 'TokenError')
                reject(new UnauthorizedError(`the provider refused the code: ${e.message}`));
              else if (e.name === 'InternalOAuthError' || e.code === 'ERR_JWKS_TIMEOUT')
                reject(new ServiceUnavailableError('the identity provider is unreachable', 10));
              else if (e.name?.startsWith('JW') || e.code?.startsWith('ERR_J'))
                reject(new UnauthorizedError(`the ID token is invalid (${e.code ?? e.name})`));
              else reject(err);
            } else if (!user) {
              reject(new UnauthorizedError(info?.message ?? 'the OAuth login failed'));
            } else resolve(user);
          },
        )(req, res, (err: unknown) => reject(err));
      });
    },
  };
}
