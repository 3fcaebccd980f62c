/**
 * Test helpers: a database of our own per test file (schema `content` has a fixed name, so
 * isolation is by database), and a stand-in auth service on loopback that answers the documented
 * login and refresh contract and serves its JWKS, so the verification path is the real one.
 * (`startTestIssuer` of @cinema/testing serves a JWKS only; the admin panel also needs the login
 * and refresh API, tokens with an `email`, and tokens signed by a foreign key, hence this one.)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { createTokenVerifier } from '@cinema/auth';
import { createLogger } from '@cinema/logging';
import { createPool, type Pool } from '@cinema/pg';
import { createAuthClient } from '@cinema/auth';
import { PgCatalogRepository } from '../src/adapters/catalog.repository';
import { buildApp } from '../src/app';
import { CatalogService } from '../src/domain/catalog.service';
import type { LogQuery, TraceQuery } from '../src/domain/ops';
import { migrateContent } from '../src/schema';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
/** `../shared` next to the repository (/work/shared here, a sibling of the clone in CI). */
export const MOVIES_SQLITE = path.resolve(REPO_ROOT, '..', 'shared', 'data', 'movies.sqlite');

export interface TestDatabase {
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix = 'catalog_admin'): Promise<TestDatabase> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('DATABASE_URL is not set (jest globalSetup starts PostgreSQL)');
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = createPool(adminUrl, { max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = createPool(url.toString(), { max: 5 });
  // pool.end() resolves before the server has closed every backend; DROP ... WITH (FORCE) may
  // then terminate one, which the client reports as an error on an idle connection.
  pool.on('error', () => undefined);
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export interface Account {
  password: string;
  roles: string[];
  id?: string;
}

export interface FakeAuth {
  url: string;
  issuer: string;
  audience: string;
  /** Signs an access token with the served key (or a foreign one). */
  sign(
    roles: string[],
    opts?: { expiresIn?: string | number; foreign?: boolean; sub?: string },
  ): Promise<string>;
  logins: number;
  refreshes: number;
  close(): Promise<void>;
}

export async function startFakeAuth(accounts: Record<string, Account>): Promise<FakeAuth> {
  const issuer = 'cinema-auth';
  const audience = 'cinema';
  const kid = `k-${randomBytes(3).toString('hex')}`;
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const foreign = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const refreshTokens = new Map<string, string>();

  const sign: FakeAuth['sign'] = (roles, opts = {}) =>
    new SignJWT({ roles, typ: 'access', sid: randomUUID(), email: `${opts.sub ?? 'u'}@test` })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setSubject(opts.sub ?? randomUUID())
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(typeof opts.expiresIn === 'number' ? opts.expiresIn - 60 : undefined)
      .setExpirationTime(opts.expiresIn ?? '15m')
      .sign(opts.foreign ? foreign.privateKey : privateKey);

  const state = { logins: 0, refreshes: 0 };
  const server = http.createServer((req, res) => {
    const answer = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
      return answer(200, { keys: [jwk] });
    }
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      void (async () => {
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          return answer(400, { title: 'Bad Request' });
        }
        const issue = async (email: string, account: Account) => {
          const refreshToken = randomBytes(24).toString('base64url');
          refreshTokens.set(refreshToken, email);
          return answer(200, {
            accessToken: await sign(account.roles, { sub: account.id ?? email.split('@')[0] }),
            refreshToken,
            tokenType: 'Bearer',
            expiresIn: 900,
          });
        };
        if (req.method === 'POST' && req.url === '/api/v1/auth/login') {
          state.logins += 1;
          const account = accounts[String(body.email)];
          if (!account || account.password !== body.password) {
            return answer(401, { title: 'Unauthorized', status: 401 });
          }
          return issue(String(body.email), account);
        }
        if (req.method === 'POST' && req.url === '/api/v1/auth/refresh') {
          state.refreshes += 1;
          const email = refreshTokens.get(String(body.refreshToken));
          if (!email) return answer(401, { title: 'Unauthorized', status: 401 });
          refreshTokens.delete(String(body.refreshToken));
          return issue(email, accounts[email]!);
        }
        answer(404, { title: 'Not Found' });
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    issuer,
    audience,
    sign,
    get logins() {
      return state.logins;
    },
    get refreshes() {
      return state.refreshes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The app over the test database, wired as `wire` does it (the catalog service over the
 * PostgreSQL repository); `catalog` is that repository, for checks behind the app's back.
 */
export async function startApp(
  db: TestDatabase,
  auth: FakeAuth,
  ops?: { traces?: TraceQuery; logs?: LogQuery },
) {
  await migrateContent(db.pool);
  const logger = createLogger({ service: 'catalog-admin-test', level: 'silent' });
  const catalog = new PgCatalogRepository(db.pool);
  const app = buildApp({
    config: { CORS_ORIGINS: [], BODY_LIMIT: '100kb', ADMIN_COOKIE_SECURE: false },
    logger,
    readiness: {},
    catalog: new CatalogService(catalog),
    verifier: createTokenVerifier({
      jwksUrl: `${auth.url}/.well-known/jwks.json`,
      issuer: auth.issuer,
      audience: auth.audience,
    }),
    auth: createAuthClient(auth.url),
    ops,
  });
  return { app, catalog };
}
