/**
 * The contract: every operation of the spec, driven with valid and invalid requests against the
 * service as its own wiring builds it (real PostgreSQL, RabbitMQ, SMTP catcher), answers only
 * what the spec documents.
 */
import { randomUUID } from 'node:crypto';
import { describeViolations, driveContract } from '@cinema/testing';
import spec from '../src/generated/swagger.json';
import { startService, type TestService } from './helpers';

let s: TestService;

beforeAll(async () => {
  s = await startService();
});

afterAll(async () => {
  await s?.close();
});

it('answers every operation as the spec documents', async () => {
  const report = await driveContract({
    spec,
    baseUrl: s.url,
    token: (roles) => s.token(randomUUID(), roles),
  });
  expect(describeViolations(report.violations)).toBe('');
  expect(report.operations).toBe(Object.values(spec.paths).flatMap((p) => Object.keys(p)).length);
}, 120_000);
