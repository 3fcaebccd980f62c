/**
 * auth's admin users list (`GET /api/v1/auth/users?page&pageSize`, roles admin/super_user),
 * read with the access token of a service account (`AUTH_BACKFILL_EMAIL` / `_PASSWORD`) that
 * logs in through the auth client; a token that expired mid-way is renewed by logging in again.
 * The list is read with the generated auth client of `@cinema/clients`.
 */
import { createServiceClient } from '@cinema/clients';
import { ServiceUnavailableError, UnauthorizedError } from '@cinema/errors';
import type { AuthUser, AuthUsersSource } from '../domain/recipients-backfill';
import type { AuthClient } from '@cinema/auth';

export interface ServiceAccount {
  email: string;
  password: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const optString = (v: unknown) => v === undefined || v === null || typeof v === 'string';

/** One listed account, checked against the contract (a wrong shape is auth's bug: fail loudly). */
export function parseAuthUser(v: unknown): AuthUser {
  if (
    !isObject(v) ||
    typeof v.id !== 'string' ||
    typeof v.email !== 'string' ||
    typeof v.emailVerified !== 'boolean' ||
    !optString(v.firstName) ||
    !optString(v.locale) ||
    !optString(v.timeZone) ||
    !optString(v.phone) ||
    !(v.phoneVerified === undefined || typeof v.phoneVerified === 'boolean') ||
    !Array.isArray(v.roles) ||
    !v.roles.every((r) => typeof r === 'string') ||
    typeof v.isActive !== 'boolean' ||
    typeof v.updatedAt !== 'string' ||
    Number.isNaN(Date.parse(v.updatedAt))
  ) {
    throw new ServiceUnavailableError('auth listed a user not of the contract shape');
  }
  return {
    id: v.id,
    email: v.email,
    emailVerified: v.emailVerified,
    firstName: (v.firstName as string | null | undefined) ?? null,
    locale: v.locale as string | null | undefined,
    timeZone: v.timeZone as string | null | undefined,
    phone: v.phone as string | null | undefined,
    phoneVerified: v.phoneVerified as boolean | undefined,
    roles: v.roles as string[],
    isActive: v.isActive,
    updatedAt: new Date(v.updatedAt),
  };
}

export function createAuthUsersSource(o: {
  baseUrl: string;
  client: AuthClient;
  account: ServiceAccount;
  timeoutMs?: number;
}): AuthUsersSource {
  // The generated auth client: a GET, so a 429/502/503/504 or a dropped connection is retried
  // (bounded, Retry-After honoured); the back-fill's request id and trace go along.
  const auth = createServiceClient('auth', {
    baseUrl: o.baseUrl,
    timeoutMs: o.timeoutMs ?? 15_000,
  });
  let token: string | undefined;
  const login = async () => {
    token = (await o.client.login(o.account.email, o.account.password)).accessToken;
    return token;
  };
  async function get(page: number, pageSize: number, bearer: string) {
    try {
      return await auth.GET('/api/v1/auth/users', {
        params: { query: { page, pageSize } },
        headers: { accept: 'application/json', authorization: `Bearer ${bearer}` },
      });
    } catch (err) {
      if (err instanceof SyntaxError) {
        throw new ServiceUnavailableError('auth answered a users list not of the contract shape');
      }
      throw new ServiceUnavailableError('the auth service cannot be reached');
    }
  }
  return {
    async page(page, pageSize) {
      let res = await get(page, pageSize, token ?? (await login()));
      if (res.response.status === 401) res = await get(page, pageSize, await login());
      const { status } = res.response;
      if (status === 401 || status === 403) {
        throw new UnauthorizedError(
          `the back-fill account cannot list users (auth answered ${status}): it needs the role admin or super_user`,
        );
      }
      if (!res.response.ok) {
        throw new ServiceUnavailableError(`auth answered ${status} to the users list`);
      }
      // The types say what auth promises; what it sent is checked (parseAuthUser per item).
      const body = res.data as unknown;
      if (!isObject(body) || !Array.isArray(body.items) || typeof body.total !== 'number') {
        throw new ServiceUnavailableError('auth answered a users list not of the contract shape');
      }
      return { items: body.items.map(parseAuthUser), total: body.total };
    },
  };
}
