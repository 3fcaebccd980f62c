import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import * as client from 'prom-client';
import { UnauthorizedError } from '@cinema/errors';
import { createLogger } from '@cinema/logging';
import { createTokenVerifier, DenyList, RevocationFeed, revocationsUrlOf } from './index';

const issuer = 'https://auth.test';
const audience = 'cinema';
const logger = createLogger({ service: 'test', level: 'silent' });

async function setup(feed?: RevocationFeed) {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const verify = createTokenVerifier({
    jwks: { keys: [jwk] },
    issuer,
    audience,
    revocations: feed,
  });
  const sign = (sid: string) =>
    new SignJWT({ roles: ['public_user'], typ: 'access', sid })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject('user-1')
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
  return { verify, sign };
}

describe('DenyList', () => {
  it('keeps a session until its exp (plus the margin), then sweeps it', () => {
    const list = new DenyList(1000);
    const now = 1_000_000_000_000;
    list.add('s1', now / 1000 + 10, now);
    expect(list.has('s1')).toBe(true);
    expect(list.has('s2')).toBe(false);
    list.sweep(now + 10_999);
    expect(list.has('s1')).toBe(true);
    list.sweep(now + 11_000);
    expect(list.has('s1')).toBe(false);
  });

  it('ignores entries already past, keeps the later exp of two', () => {
    const list = new DenyList(0);
    const now = Date.now();
    list.add('old', now / 1000 - 1, now);
    expect(list.size).toBe(0);
    list.add('s', now / 1000 + 100, now);
    list.add('s', now / 1000 + 10, now);
    list.sweep(now + 50_000);
    expect(list.has('s')).toBe(true);
  });
});

describe('createTokenVerifier with a revocation feed', () => {
  it('refuses a revoked session, also when the token was cached before', async () => {
    const feed = new RevocationFeed({ logger });
    const { verify, sign } = await setup(feed);
    const token = await sign('sid-1');
    const other = await sign('sid-2');
    await expect(verify(token)).resolves.toMatchObject({ sessionId: 'sid-1' });
    await expect(verify(token)).resolves.toMatchObject({ sessionId: 'sid-1' }); // cached
    feed.denyList.add('sid-1', Date.now() / 1000 + 300);
    await expect(verify(token)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(verify(token)).rejects.toThrow(/session has ended/);
    await expect(verify(other)).resolves.toMatchObject({ sessionId: 'sid-2' });
  });

  it('says "not configured" in readiness without failing, and -1 in its metric', async () => {
    const feed = new RevocationFeed({ logger });
    expect(feed.state).toBe('not-configured');
    await expect(feed.check()).resolves.toEqual({
      detail: expect.stringMatching(/not configured/),
    });
    const { verify } = await setup(feed);
    const registry = new client.Registry();
    verify.registerMetrics!(registry);
    const text = await registry.metrics();
    expect(text).toMatch(/^auth_revocation_feed_up -1$/m);
    expect(text).toMatch(/^auth_revocation_deny_list_size 0$/m);
  });

  it('fails readiness while configured and not live', async () => {
    const feed = new RevocationFeed({ logger, amqpUrl: 'amqp://127.0.0.1:1' });
    await expect(feed.check()).rejects.toThrow(/revocation feed connecting/);
  });
});

describe('revocationsUrlOf', () => {
  it('is AUTH_REVOCATIONS_URL, else derived from AUTH_URL, else from a standard JWKS URL', () => {
    expect(revocationsUrlOf({ AUTH_REVOCATIONS_URL: 'http://x/r', AUTH_URL: 'http://a' })).toBe(
      'http://x/r',
    );
    expect(revocationsUrlOf({ AUTH_URL: 'http://a:8001/' })).toBe(
      'http://a:8001/api/v1/auth/revocations',
    );
    expect(revocationsUrlOf({ AUTH_JWKS_URL: 'http://a/.well-known/jwks.json' })).toBe(
      'http://a/api/v1/auth/revocations',
    );
    expect(revocationsUrlOf({ AUTH_JWKS_URL: 'http://a/keys' })).toBeUndefined();
  });
});
