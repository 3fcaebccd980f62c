/**
 * Local verification of access tokens issued by the auth service, against its JWKS
 * (`/.well-known/jwks.json`), and the `expressAuthentication` hook tsoa calls for
 * `@Security('jwt', [roles])`. Only asymmetric algorithms are accepted, so `alg: none` and
 * HS256-signed-with-the-public-key (key confusion) tokens are refused by construction.
 */
import type { Request } from 'express';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Registry } from 'prom-client';
import { ForbiddenError, UnauthorizedError } from '@cinema/errors';
import { dependenciesOf } from '@cinema/http';
import type { DenyList, RevocationFeed } from './revocations';

export * from './client';
export * from './revocations';
export * from './panel-session';

export const ROLES = ['public_user', 'admin', 'super_user'] as const;
export type Role = (typeof ROLES)[number];

/** The accepted signature algorithms; never HS* nor none. */
export const ACCEPTED_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];

export interface Principal {
  /** User id (the token's `sub`). */
  id: string;
  email?: string;
  roles: string[];
  /** Session id, when the issuer puts one (`sid`). */
  sessionId?: string;
  claims: JWTPayload;
}

export interface VerifierOptions {
  /** URL of the issuer's JWKS, fetched and cached (refetched on an unknown `kid`). */
  jwksUrl?: string;
  /** A key set given directly (the auth service verifies its own tokens this way). */
  jwks?: JSONWebKeySet;
  issuer: string;
  audience: string;
  /** Allowed clock skew in seconds. */
  clockToleranceSeconds?: number;
  /**
   * How many verified tokens to remember (default 10,000; 0 turns the cache off). A token seen
   * again before its `exp` is answered from memory without checking the signature again; the
   * key is the whole token, so any change to it misses. Trade-off: a key withdrawn from the
   * JWKS stops new tokens at once but tokens already verified stay valid until they expire
   * (access tokens are short-lived).
   */
  cacheSize?: number;
  /**
   * The revocation feed (`startRevocationFeed`): tokens of sessions in its deny list are refused,
   * also when they are answered from the cache. Its metrics come with the verifier
   * (`registerMetrics`, which `createApp` of @cinema/http calls).
   */
  revocations?: RevocationFeed;
}

export type TokenVerifier = ((token: string) => Promise<Principal>) & {
  /** Present when the verifier follows a revocation feed: adds the feed's metrics. */
  registerMetrics?: (registry: Registry) => void;
};

export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  let keys: JWTVerifyGetKey;
  if (options.jwks) keys = createLocalJWKSet(options.jwks);
  else if (options.jwksUrl)
    keys = createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: 30_000 });
  else throw new Error('createTokenVerifier needs jwksUrl or jwks');
  const verify = verifySignature(keys, options);
  const feed = options.revocations;
  const verifier = cached(verify, options.cacheSize ?? 10_000, feed?.denyList);
  if (feed) verifier.registerMetrics = (registry) => feed.registerMetrics(registry);
  return verifier;
}

const ended = () => new UnauthorizedError('the session has ended');

/**
 * The verified-token cache; with a deny list, tokens of ended sessions are refused whether
 * verified now or answered from the cache (one Map lookup on a hit).
 */
function cached(
  verify: TokenVerifier,
  cacheSize: number,
  denyList?: Pick<DenyList, 'has'>,
): TokenVerifier {
  const denied = (p: Principal) => p.sessionId !== undefined && denyList!.has(p.sessionId);
  if (cacheSize <= 0) {
    if (!denyList) return verify;
    return async (token) => {
      const principal = await verify(token);
      if (denied(principal)) throw ended();
      return principal;
    };
  }
  // Insertion-ordered Map as a small LRU: a hit moves the entry to the end, the oldest goes first.
  const cache = new Map<string, Principal>();
  return async (token) => {
    const hit = cache.get(token);
    if (hit) {
      cache.delete(token);
      if (hit.claims.exp! * 1000 > Date.now()) {
        if (denyList && denied(hit)) throw ended();
        cache.set(token, hit);
        return hit;
      }
    }
    const principal = await verify(token);
    if (denyList && denied(principal)) throw ended();
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
    cache.set(token, principal);
    return principal;
  };
}

function verifySignature(keys: JWTVerifyGetKey, options: VerifierOptions): TokenVerifier {
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ACCEPTED_ALGORITHMS,
        clockTolerance: options.clockToleranceSeconds ?? 5,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      // Only access tokens: a token without `typ` (or any other type) is refused.
      if (payload.typ !== 'access') {
        throw new UnauthorizedError('not an access token');
      }
      // Frozen: the same object answers every later use of this token from the cache.
      return Object.freeze({
        id: payload.sub!,
        email: typeof payload.email === 'string' ? payload.email : undefined,
        roles: Object.freeze(
          Array.isArray(payload.roles)
            ? payload.roles.filter((r): r is string => typeof r === 'string')
            : [],
        ) as string[],
        sessionId: typeof payload.sid === 'string' ? payload.sid : undefined,
        claims: Object.freeze(payload),
      });
    } catch (err) {
      if (err instanceof UnauthorizedError) throw err;
      if (err instanceof errors.JWTExpired)
        throw new UnauthorizedError('the access token has expired');
      if (err instanceof errors.JOSEError)
        throw new UnauthorizedError(`invalid access token (${err.code})`);
      throw err;
    }
  };
}

export function bearerToken(request: Pick<Request, 'header'>): string | undefined {
  const header = request.header('authorization');
  const match = header ? /^Bearer\s+([\w-]+\.[\w-]+\.[\w-]*)$/i.exec(header.trim()) : null;
  return match?.[1];
}

/** What the auth hook needs from a service's dependencies object: its access-token verifier. */
export interface AuthDependencies {
  verifier: TokenVerifier;
}

/**
 * tsoa's `authenticationModule` hook of every service: `@Security('jwt', roles)` verifies the
 * Bearer token with the verifier of the dependencies object the app was given. For the `jwt`
 * scheme, `scopes` are roles: the principal needs at least one of them.
 */
export async function expressAuthentication(
  request: Request,
  securityName: string,
  scopes: string[] = [],
): Promise<Principal> {
  if (securityName !== 'jwt')
    throw new UnauthorizedError(`unknown security scheme ${securityName}`);
  const token = bearerToken(request);
  if (!token) throw new UnauthorizedError('a Bearer access token is required');
  const principal = await dependenciesOf<AuthDependencies>(request).verifier(token);
  if (scopes.length && !scopes.some((role) => principal.roles.includes(role))) {
    throw new ForbiddenError(`requires one of the roles: ${scopes.join(', ')}`);
  }
  return principal;
}
