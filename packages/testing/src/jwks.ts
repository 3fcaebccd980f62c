/**
 * A key pair of this test's own, served as a JWKS on loopback, and tokens minted with it: the
 * verification path (JWKS over HTTP, jose) is the one used against the auth service.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';

export interface TestIssuer {
  jwksUrl: string;
  issuer: string;
  audience: string;
  token(sub: string, roles?: string[], expiresIn?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const { publicKey, privateKey } = (await generateKeyPair('RS256')) as {
    publicKey: KeyLike;
    privateKey: KeyLike;
  };
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = 'cinema-auth';
  const audience = 'cinema';
  return {
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    issuer,
    audience,
    token: (sub, roles = ['public_user'], expiresIn = '5m') =>
      new SignJWT({ roles, typ: 'access', sid: 'test-session' })
        .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
        .setSubject(sub)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime(expiresIn)
        .sign(privateKey),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
