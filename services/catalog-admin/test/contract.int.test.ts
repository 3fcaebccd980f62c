/**
 * The contract: every operation of the spec (the read API beside the panel), driven with valid
 * and invalid requests against the app built by buildApp over a real PostgreSQL, answers only
 * what the spec documents.
 */
import { describeViolations, driveContract, serveForContract } from '@cinema/testing';
import spec from '../src/generated/swagger.json';
import {
  createTestDatabase,
  startApp,
  startFakeAuth,
  type FakeAuth,
  type TestDatabase,
} from './helpers';

let db: TestDatabase;
let auth: FakeAuth;
let served: Awaited<ReturnType<typeof serveForContract>>;
let filmId: string;

beforeAll(async () => {
  db = await createTestDatabase('catalog_admin_contract');
  auth = await startFakeAuth({});
  const { app } = await startApp(db, auth);
  const { rows } = await db.pool.query<{ id: string }>(
    `INSERT INTO content.film_work (id, title, type, created, modified)
     VALUES (gen_random_uuid(), 'Contract Film', 'movie', now(), now()) RETURNING id`,
  );
  filmId = rows[0].id;
  served = await serveForContract(app);
});

afterAll(async () => {
  await served?.close();
  await auth?.close();
  await db?.drop();
});

it('answers every operation as the spec documents', async () => {
  const report = await driveContract({ spec, baseUrl: served.baseUrl, values: { id: filmId } });
  expect(describeViolations(report.violations)).toBe('');
  expect(report.operations).toBe(Object.values(spec.paths).flatMap((p) => Object.keys(p)).length);
  for (const [operation, statuses] of Object.entries(report.seen))
    expect([operation, statuses.some((s) => s < 300)]).toEqual([operation, true]);
});
