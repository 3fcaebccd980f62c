/**
 * The logged-in viewers' accounts: registered at auth when missing (`sim-<seed>-<n>@...`), then
 * logged in once each; their access tokens are shared by the run's logged-in sessions. auth
 * limits logins and registrations per address: a pool of a few accounts is enough.
 */
export interface Account {
  email: string;
  password: string;
}

export function accountsOf(
  seed: number,
  count: number,
  domain = 'simulator.cinema.test',
): Account[] {
  return Array.from({ length: count }, (_, i) => ({
    email: `sim-${seed}-${i}@${domain}`,
    // auth refuses a password holding the e-mail's name.
    password: `Simulated viewer ${i} of seed ${seed}!`,
  }));
}

async function post(url: string, body: unknown, token?: string) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token && { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}

/** Access token of `account` (registers it first when auth does not know it). */
export async function logIn(auth: string, account: Account): Promise<string> {
  const login = () => post(`${auth}/api/v1/auth/login`, account);
  let res = await login();
  if (res.status === 401) {
    await res.body?.cancel();
    const reg = await post(`${auth}/api/v1/auth/register`, {
      ...account,
      firstName: 'Simulated',
      lastName: 'Viewer',
    });
    const why = await reg.text().catch(() => '');
    if (reg.status !== 201 && reg.status !== 409)
      throw new Error(
        `auth refused to register ${account.email}: ${reg.status} ${why.slice(0, 300)}`,
      );
    res = await login();
  }
  if (!res.ok) throw new Error(`auth refused the login of ${account.email}: ${res.status}`);
  const { accessToken } = (await res.json()) as { accessToken: string };
  return accessToken;
}
