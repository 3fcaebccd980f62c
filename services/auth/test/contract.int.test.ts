/**
 * The contract: every operation of the spec, driven with valid and invalid requests against the
 * service as its own wiring builds it (real PostgreSQL, Redis, RabbitMQ), answers only what the
 * spec documents. Tokens are real: a fresh login of one of two accounts (a super_user where the
 * route names roles), so a logout driven earlier does not end the session of a later operation.
 */
import request from 'supertest';
import { describeViolations, driveContract, serveForContract } from '@cinema/testing';
import { createStore } from '../src/adapters/db';
import { createPasswordHasher } from '../src/adapters/password.hasher';
import { createSuperuser } from '../src/domain/superuser';
import spec from '../src/generated/swagger.json';
import { dropSchema, startService, suffix, type TestService } from './helpers';
import { deleteMailsTo } from './mail';

let s: TestService;
let served: Awaited<ReturnType<typeof serveForContract>>;
const password = 'correct horse battery';
const hasher = createPasswordHasher({ memoryCost: 4096, timeCost: 1, parallelism: 1 });
const used: string[] = [];

beforeAll(async () => {
  s = await startService({
    RATE_LIMIT_IP_PER_MINUTE: '100000',
    RATE_LIMIT_ACCOUNT_PER_HOUR: '100000',
  });
  served = await serveForContract(s.app);
});

afterAll(async () => {
  await served?.close();
  await s?.close();
  await dropSchema(s.schema);
  // Clean-up only: a busy mail catcher must not fail the contract.
  await deleteMailsTo(...used).catch(() => undefined);
});

const accounts = new Map<boolean, Promise<string>>();
/** The e-mail of one account per kind (super_user or not), made once. */
function accountOf(superUser: boolean): Promise<string> {
  let account = accounts.get(superUser);
  if (!account) {
    account = (async () => {
      const email = `contract-${suffix()}@example.com`;
      used.push(email);
      if (superUser) await createSuperuser(createStore(s.c.pool), hasher, email, password);
      else await request(s.app).post('/api/v1/auth/register').send({ email, password }).expect(201);
      return email;
    })();
    accounts.set(superUser, account);
  }
  return account;
}

/** A fresh session's access token: a logout driven earlier ends only the sessions it had. */
async function tokenOf(roles: string[]): Promise<string> {
  const email = await accountOf(roles.some((r) => r === 'admin' || r === 'super_user'));
  const login = await request(s.app).post('/api/v1/auth/login').send({ email, password });
  expect(login.status).toBe(200);
  return login.body.accessToken as string;
}

it('answers every operation as the spec documents', async () => {
  const report = await driveContract({ spec, baseUrl: served.baseUrl, token: tokenOf });
  expect(describeViolations(report.violations)).toBe('');
  expect(report.operations).toBe(Object.values(spec.paths).flatMap((p) => Object.keys(p)).length);
}, 120_000);
