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
 *
 * The calls go through the generated auth client of `@cinema/clients` (types from auth's spec;
 * the request id and trace context of the request being served go along; a timeout per call).
 */
import { isIP } from 'node:net';
import { createServiceClient } from '@cinema/clients';
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
  // POSTs only: the client's policy never retries them (a login is not idempotent).
  const auth = createServiceClient('auth', { baseUrl, timeoutMs });
  async function tokens(
    call: () => Promise<{ data?: unknown; response: Response }>,
  ): Promise<Tokens> {
    let result: { data?: unknown; response: Response };
    try {
      result = await call();
    } catch (err) {
      // A 200 whose body is not JSON gives no token; anything else got no answer in time.
      if (err instanceof SyntaxError) {
        throw new ServiceUnavailableError('the auth service gave no access token');
      }
      throw new ServiceUnavailableError('the auth service cannot be reached');
    }
    const { data, response } = result;
    const status = response.status;
    if (status === 400 || status === 401 || status === 403 || status === 422) {
      throw new UnauthorizedError('wrong e-mail or password');
    }
    if (status === 429) throw new UnauthorizedError('too many attempts; try again later');
    if (!response.ok) {
      throw new ServiceUnavailableError(`the auth service answered ${status}`);
    }
    // Checked, not trusted: the types say what auth promises, this is what it sent.
    const json = (data ?? {}) as Partial<Record<keyof Tokens, unknown>>;
    if (typeof json.accessToken !== 'string') {
      throw new ServiceUnavailableError('the auth service gave no access token');
    }
    return {
      accessToken: json.accessToken,
      refreshToken: typeof json.refreshToken === 'string' ? json.refreshToken : undefined,
      expiresIn: typeof json.expiresIn === 'number' ? json.expiresIn : undefined,
    };
  }
  const headers = (client?: ClientInfo) => ({
    accept: 'application/json',
    ...clientHeaders(client),
  });
  return {
    login: (email, password, client) =>
      tokens(() =>
        auth.POST('/api/v1/auth/login', { body: { email, password }, headers: headers(client) }),
      ),
    refresh: (refreshToken, client) =>
      tokens(() =>
        auth.POST('/api/v1/auth/refresh', { body: { refreshToken }, headers: headers(client) }),
      ),
    async logout(accessToken, client) {
      await auth
        .POST('/api/v1/auth/logout', {
          headers: { authorization: `Bearer ${accessToken}`, ...clientHeaders(client) },
          parseAs: 'stream',
        })
        .then(({ response }) => response.body?.cancel())
        .catch(() => undefined);
    },
  };
}
