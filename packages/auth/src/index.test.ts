import { createHmac } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { ForbiddenError, UnauthorizedError } from '@cinema/http';
import { createExpressAuthentication, createTokenVerifier } from './index';

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
});

describe('expressAuthentication', () => {
  const request = (authorization?: string) =>
    ({ header: (name: string) => (name === 'authorization' ? authorization : undefined) }) as never;

  it('requires a bearer token and one of the roles', async () => {
    const { verify, sign } = await setup();
    const auth = createExpressAuthentication(() => verify);
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
  });
});
