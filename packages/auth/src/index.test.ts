import { createHmac } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { ForbiddenError, UnauthorizedError } from '@cinema/http';
import { provideDependencies } from '@cinema/http';
import { createTokenVerifier, expressAuthentication } from './index';

const issuer = 'https://auth.test';
const audience = 'cinema';

async function setup() {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const verify = createTokenVerifier({ jwks: { keys: [jwk] }, issuer, audience });
  const sign = (
    claims: Record<string, unknown> = {},
    opts: { exp?: string | number; aud?: string; iss?: string } = {},
  ) =>
    new SignJWT({ roles: ['public_user'], typ: 'access', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject('user-1')
      .setIssuer(opts.iss ?? issuer)
      .setAudience(opts.aud ?? audience)
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? '5m')
      .sign(privateKey);
  return { verify, sign, jwk };
}

const b64 = (value: object | string) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

describe('createTokenVerifier', () => {
  it('accepts a valid token and returns the principal', async () => {
    const { verify, sign } = await setup();
    const principal = await verify(await sign({ roles: ['admin'], sid: 's-1', email: 'a@b.c' }));
    expect(principal).toMatchObject({
      id: 'user-1',
      roles: ['admin'],
      sessionId: 's-1',
      email: 'a@b.c',
    });
  });

  it('rejects expired tokens, wrong issuer and wrong audience', async () => {
    const { verify, sign } = await setup();
    await expect(
      verify(await sign({}, { exp: Math.floor(Date.now() / 1000) - 60 })),
    ).rejects.toThrow(/expired/);
    await expect(verify(await sign({}, { iss: 'https://evil' }))).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
    await expect(verify(await sign({}, { aud: 'other' }))).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
  });

  it('rejects alg none', async () => {
    const { verify } = await setup();
    const now = Math.floor(Date.now() / 1000);
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'user-1', iss: issuer, aud: audience, iat: now, exp: now + 60, roles: ['super_user'] })}.`;
    await expect(verify(token)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('rejects HS256 signed with the public key (key confusion)', async () => {
    const { verify, jwk } = await setup();
    const now = Math.floor(Date.now() / 1000);
    const header = b64({ alg: 'HS256', kid: 'k1' });
    const payload = b64({
      sub: 'user-1',
      iss: issuer,
      aud: audience,
      iat: now,
      exp: now + 60,
      roles: ['super_user'],
    });
    const sig = createHmac('sha256', JSON.stringify(jwk))
      .update(`${header}.${payload}`)
      .digest('base64url');
    await expect(verify(`${header}.${payload}.${sig}`)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('rejects a tampered payload', async () => {
    const { verify, sign } = await setup();
    const [h, , s] = (await sign()).split('.');
    const now = Math.floor(Date.now() / 1000);
    const forged = b64({
      sub: 'user-1',
      iss: issuer,
      aud: audience,
      iat: now,
      exp: now + 60,
      roles: ['super_user'],
    });
    await expect(verify(`${h}.${forged}.${s}`)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('rejects refresh tokens used as access tokens', async () => {
    const { verify, sign } = await setup();
    await expect(verify(await sign({ typ: 'refresh' }))).rejects.toThrow(/not an access token/);
  });

  it('rejects tokens without typ "access" (missing typ is not an access token)', async () => {
    const { verify, sign } = await setup();
    await expect(verify(await sign({ typ: undefined }))).rejects.toThrow(/not an access token/);
    await expect(verify(await sign({ typ: 'Access' }))).rejects.toThrow(/not an access token/);
    await expect(verify(await sign({ typ: ['access'] }))).rejects.toThrow(/not an access token/);
  });
});

describe('verified-token cache', () => {
  afterEach(() => jest.useRealTimers());

  it('answers a token seen before from memory, frozen, and still refuses any altered copy', async () => {
    const { verify, sign } = await setup();
    const token = await sign({ roles: ['admin'] });
    const first = await verify(token);
    const again = await verify(token);
    expect(again).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(() => (first.roles as string[]).push('super_user')).toThrow();
    const [h, p, sig] = token.split('.');
    const forged = b64({
      ...JSON.parse(Buffer.from(p!, 'base64url').toString()),
      roles: ['super_user'],
    });
    await expect(verify(`${h}.${forged}.${sig}`)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(verify(`${h}.${p}.${sig!.slice(0, -4)}AAAA`)).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
  });

  it('stops answering a cached token once it has expired', async () => {
    const { verify, sign } = await setup();
    const exp = Math.floor(Date.now() / 1000) + 60;
    const token = await sign({}, { exp });
    await expect(verify(token)).resolves.toMatchObject({ id: 'user-1' });
    jest.useFakeTimers({ now: (exp + 30) * 1000, doNotFake: ['nextTick', 'setImmediate'] });
    await expect(verify(token)).rejects.toThrow(/expired/);
  });

  it('keeps at most cacheSize tokens and can be turned off', async () => {
    const { sign, jwk } = await setup();
    const small = createTokenVerifier({ jwks: { keys: [jwk] }, issuer, audience, cacheSize: 2 });
    const [a, b, c] = await Promise.all([sign({ n: 1 }), sign({ n: 2 }), sign({ n: 3 })]);
    const pa = await small(a!);
    await small(b!);
    await small(c!); // evicts a, the least recently used
    expect(await small(c!)).toBe(await small(c!));
    expect(await small(a!)).not.toBe(pa);
    const off = createTokenVerifier({ jwks: { keys: [jwk] }, issuer, audience, cacheSize: 0 });
    expect(await off(a!)).not.toBe(await off(a!));
  });
});

describe('expressAuthentication', () => {
  it("requires a bearer token and one of the roles, checked by the app's verifier", async () => {
    const { verify, sign } = await setup();
    const app = {} as never;
    provideDependencies(app, { verifier: verify });
    const request = (authorization?: string) =>
      ({
        app,
        header: (name: string) => (name === 'authorization' ? authorization : undefined),
      }) as never;
    const auth = expressAuthentication;
    await expect(auth(request(), 'jwt', [])).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(auth(request('Basic abc'), 'jwt', [])).rejects.toBeInstanceOf(UnauthorizedError);
    const token = await sign({ roles: ['public_user'] });
    await expect(
      auth(request(`Bearer ${token}`), 'jwt', ['admin', 'super_user']),
    ).rejects.toBeInstanceOf(ForbiddenError);
    await expect(auth(request(`Bearer ${token}`), 'jwt', ['public_user'])).resolves.toMatchObject({
      id: 'user-1',
    });
    await expect(auth(request(`Bearer ${token}`), 'jwt')).resolves.toMatchObject({
      roles: ['public_user'],
    });
    await expect(auth(request(`Bearer ${token}`), 'apiKey')).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
  });

  it('fails loudly when the app was given no dependencies', async () => {
    const { sign } = await setup();
    const token = await sign({ roles: ['public_user'] });
    const request = {
      app: {},
      header: () => `Bearer ${token}`,
    } as never;
    await expect(expressAuthentication(request, 'jwt')).rejects.toThrow(/no dependencies/);
  });
});
