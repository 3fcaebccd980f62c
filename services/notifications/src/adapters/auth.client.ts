/**
 * The auth service's login and refresh API (docs/contracts.md), for the admin panel's sign-in:
 * `POST /api/v1/auth/login` with `{ email, password }` and `POST /api/v1/auth/refresh` with
 * `{ refreshToken }`, both answering `{ accessToken, refreshToken, tokenType, expiresIn }`.
 */
import { ServiceUnavailableError, UnauthorizedError } from '@cinema/errors';

export interface Tokens {
  accessToken: string;
  refreshToken?: string;
  expiresIn?: number;
}

export interface AuthClient {
  login(email: string, password: string): Promise<Tokens>;
  refresh(refreshToken: string): Promise<Tokens>;
}

export function createAuthClient(baseUrl: string, timeoutMs = 5000): AuthClient {
  const base = baseUrl.replace(/\/+$/, '');
  async function post(path: string, body: object): Promise<Tokens> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
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
    login: (email, password) => post('/api/v1/auth/login', { email, password }),
    refresh: (refreshToken) => post('/api/v1/auth/refresh', { refreshToken }),
  };
}
