/**
 * The auth service's login and refresh API for the admin panels (catalog-admin's,
 * notifications'), per docs/contracts.md: `POST /api/v1/auth/login` with
 * `{ email, password }` and `POST /api/v1/auth/refresh` with `{ refreshToken }`, both answering
 * `{ accessToken, refreshToken, tokenType, expiresIn }`; `POST /api/v1/auth/logout` ends the
 * session of an access token.
 *
 * An admin panel is a proxy of auth: each call carries the browser's address in
 * `X-Forwarded-For` and its `User-Agent`, so auth's rate limits, lockout and login history see
 * the real client, not the panel's pod (auth's TRUSTED_PROXIES must include the panels).
 */
import { isIP } from 'node:net';
import { ServiceUnavailableError, UnauthorizedError } from '@cinema/errors';

export interface Tokens {
  accessToken: string;
  refreshToken?: string;
  expiresIn?: number;
}

/** The browser behind an admin-panel request. */
export interface ClientInfo {
  /** Its address as this service resolved it (`req.ip`, through the trusted gateway). */
  ip?: string;
  userAgent?: string;
}

export interface AuthClient {
  login(email: string, password: string, client?: ClientInfo): Promise<Tokens>;
  refresh(refreshToken: string, client?: ClientInfo): Promise<Tokens>;
  /** Ends the session of `accessToken` at auth (best effort: the cookies go anyway). */
  logout(accessToken: string, client?: ClientInfo): Promise<void>;
}

/** The browser behind an Express request (`req.ip` follows the app's trusted proxies). */
export function clientOf(req: {
  ip?: string;
  header(name: string): string | undefined;
}): ClientInfo {
  return { ip: req.ip, userAgent: req.header('user-agent') };
}

/** Headers telling auth who the client is (only well-formed values are forwarded). */
export function clientHeaders(client?: ClientInfo): Record<string, string> {
  const headers: Record<string, string> = {};
  if (client?.ip && isIP(client.ip)) headers['x-forwarded-for'] = client.ip;
  if (client?.userAgent) headers['user-agent'] = client.userAgent.slice(0, 512);
  return headers;
}

export function createAuthClient(baseUrl: string, timeoutMs = 5000): AuthClient {
  const base = baseUrl.replace(/\/+$/, '');
  async function post(path: string, body: object, client?: ClientInfo): Promise<Tokens> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...clientHeaders(client),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch {
      throw new ServiceUnavailableError('the auth service cannot be reached');
    }
    if (res.status === 400 || res.status === 401 || res.status === 403 || res.status === 422) {
      await res.body?.cancel();
      throw new UnauthorizedError('wrong e-mail or password');
    }
    if (res.status === 429) {
      await res.body?.cancel();
      throw new UnauthorizedError('too many attempts; try again later');
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new ServiceUnavailableError(`the auth service answered ${res.status}`);
    }
    const json = (await res.json().catch(() => ({}))) as Partial<Tokens>;
    if (typeof json.accessToken !== 'string') {
      throw new ServiceUnavailableError('the auth service gave no access token');
    }
    return {
      accessToken: json.accessToken,
      refreshToken: typeof json.refreshToken === 'string' ? json.refreshToken : undefined,
      expiresIn: typeof json.expiresIn === 'number' ? json.expiresIn : undefined,
    };
  }
  return {
    login: (email, password, client) => post('/api/v1/auth/login', { email, password }, client),
    refresh: (refreshToken, client) => post('/api/v1/auth/refresh', { refreshToken }, client),
    async logout(accessToken, client) {
      const res = await fetch(`${base}/api/v1/auth/logout`, {
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}`, ...clientHeaders(client) },
        signal: AbortSignal.timeout(timeoutMs),
      }).catch(() => undefined);
      await res?.body?.cancel();
    },
  };
}
