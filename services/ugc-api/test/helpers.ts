/**
 * Integration harness: the app built in-process over its own MongoDB database (random name,
 * dropped after), and access tokens signed by a key pair served as a JWKS on loopback.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { MongoClient, type Db } from 'mongodb';
import { createTokenVerifier } from '@cinema/auth';
import { createLogger } from '@cinema/logging';
import { buildApp } from '../src/app';
import { wireUseCases, type UseCases } from '../src/wiring';

export interface Harness {
  app: Express;
  /** A second app over the same database: another replica of the service. */
  replica: Express;
  db: Db;
  services: UseCases;
  token(userId?: string, roles?: string[], opts?: { expiresIn?: string }): Promise<string>;
  close(): Promise<void>;
}

export const newFilmId = (): string => randomUUID();

export async function startHarness(name: string): Promise<Harness> {
  const url = process.env.MONGODB_URL;
  if (!url) throw new Error('MONGODB_URL is not set; run with the integration project');
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const jwks: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;

  const client = await new MongoClient(url, { serverSelectionTimeoutMS: 10_000 }).connect();
  const db = client.db(`ugc_test_${name}_${randomBytes(4).toString('hex')}`);
  const logger = createLogger({ service: 'ugc-api-test', level: 'silent' });
  const config = { CORS_ORIGINS: [], BODY_LIMIT: '100kb' };
  const verifier = createTokenVerifier({ jwksUrl, issuer: 'cinema-auth', audience: 'cinema' });
  const make = async () => {
    const services = await wireUseCases(db, { lockLeaseMs: 10_000, lockWaitMs: 20_000 });
    return {
      services,
      app: buildApp({ ...services, config, logger, verifier, readiness: {} }),
    };
  };
  const first = await make();
  const second = await make();

  return {
    app: first.app,
    replica: second.app,
    db,
    services: first.services,
    token: (userId = randomUUID(), roles = ['public_user'], opts = {}) =>
      sign(privateKey, userId, roles, opts.expiresIn ?? '15m'),
    close: async () => {
      await db.dropDatabase().catch(() => undefined);
      await client.close();
      await new Promise((resolve) => jwks.close(resolve));
    },
  };
}

function sign(key: KeyLike, sub: string, roles: string[], expiresIn: string): Promise<string> {
  return new SignJWT({ roles, typ: 'access', sid: randomUUID(), email: `${sub}@example.test` })
    .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
    .setSubject(sub)
    .setIssuer('cinema-auth')
    .setAudience('cinema')
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(key);
}

/** Asserts an RFC 9457 error answer with the given status. */
export function expectProblem(
  res: { status: number; headers: Record<string, string>; body: unknown },
  status: number,
): void {
  expect({ status: res.status, type: res.headers['content-type'] }).toEqual({
    status,
    type: expect.stringMatching(/^application\/problem\+json/),
  });
  expect(res.body).toMatchObject({ status, title: expect.any(String) });
}
