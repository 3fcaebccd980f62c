/**
 * The contract: every operation of the spec, driven with valid and invalid requests against the
 * app built by buildApp over a real MongoDB, answers only what the spec documents.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeViolations, driveContract } from '@cinema/testing';
import spec from '../src/generated/swagger.json';
import { newFilmId, startHarness, type Harness } from './helpers';

let h: Harness;
let server: Server;

beforeAll(async () => {
  h = await startHarness('contract');
  server = h.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await h?.close();
});

it('answers every operation as the spec documents', async () => {
  const user = await h.token();
  const report = await driveContract({
    spec,
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token: (roles) =>
      roles.includes('public_user') ? Promise.resolve(user) : h.token(undefined, roles),
    values: { filmId: newFilmId() },
  });
  expect(describeViolations(report.violations)).toBe('');
  expect(report.operations).toBe(Object.values(spec.paths).flatMap((p) => Object.keys(p)).length);
});
