/**
 * The real entry point in its own process: `runService` wires the producer and the intake,
 * listens (ready once Kafka is connected and the topics exist) and on SIGTERM drains and exits 0.
 * Without a JWKS only anonymous viewers are accepted (a Bearer token is a 401); with
 * AUTH_JWKS_URL tokens are verified. Bad configuration exits 78 naming the variables.
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import {
  deleteTopicsWithPrefix,
  freePort,
  runServiceMain,
  startTestIssuer,
  suffix,
  waitFor,
  type RunningProcess,
} from '@cinema/testing';

const ROOT = path.resolve(__dirname, '..');
const prefix = `test-main-${suffix()}.`;
const pause = () => ({
  event_id: randomUUID(),
  film_id: randomUUID(),
  position_sec: 1,
  client_time: new Date().toISOString(),
});

afterAll(async () => {
  await deleteTopicsWithPrefix(prefix);
});

async function start(env: Record<string, string | undefined>) {
  const port = await freePort();
  const service = runServiceMain(ROOT, {
    PORT: String(port),
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: process.env.KAFKA_BROKERS,
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_TOPIC_PARTITIONS: '1',
    ...env,
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/readyz`)).ok, 60_000, 'readyz').catch(
    async (err: Error) => {
      await service.stop('SIGKILL');
      throw new Error(`${err.message}\n${service.output()}`);
    },
  );
  return { service, base };
}

const send = (base: string, headers: Record<string, string>) =>
  fetch(`${base}/api/pause`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(pause()),
  });

it('refuses bad configuration with exit code 78 and every bad variable', async () => {
  const bad = runServiceMain(ROOT, { KAFKA_BROKERS: '', BATCH_MAX_EVENTS: '0' });
  expect(await bad.exited).toBe(78);
  expect(bad.output()).toMatch(/KAFKA_BROKERS/);
  expect(bad.output()).toMatch(/BATCH_MAX_EVENTS/);
});

it('without a JWKS takes anonymous viewers only, and stops cleanly on SIGTERM', async () => {
  let running: RunningProcess | undefined;
  try {
    const { service, base } = await start({});
    running = service;
    expect((await send(base, { 'x-anonymous-id': 'main-viewer-1' })).status).toBe(202);
    const token = await send(base, { authorization: 'Bearer a.b.c' });
    expect(token.status).toBe(401);
    expect(((await token.json()) as { detail: string }).detail).toMatch(/no JWKS/);
    expect(service.output()).toMatch(/only anonymous viewers are accepted/);
    expect(await service.stop('SIGTERM')).toBe(0);
  } finally {
    await running?.stop('SIGKILL');
  }
}, 90_000);

it('verifies access tokens with the JWKS of AUTH_JWKS_URL', async () => {
  const issuer = await startTestIssuer();
  let running: RunningProcess | undefined;
  try {
    const { service, base } = await start({
      AUTH_JWKS_URL: issuer.jwksUrl,
      JWT_ISSUER: issuer.issuer,
      JWT_AUDIENCE: issuer.audience,
    });
    running = service;
    const token = await issuer.token(randomUUID());
    expect((await send(base, { authorization: `Bearer ${token}` })).status).toBe(202);
    expect((await send(base, { authorization: 'Bearer a.b.c' })).status).toBe(401);
    expect(await service.stop('SIGTERM')).toBe(0);
  } finally {
    await running?.stop('SIGKILL');
    await issuer.close();
  }
}, 90_000);
