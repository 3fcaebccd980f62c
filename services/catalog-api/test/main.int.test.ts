/**
 * The real entry point in its own process: bad configuration exits 78; with good configuration
 * it serves the documented API behind JWT, /docs, /readyz, and stops cleanly on SIGTERM.
 */
import * as path from 'node:path';
import {
  deleteTestTopics,
  freePort,
  runServiceMain,
  startTestIssuer,
  suffix,
  waitFor,
  type TestIssuer,
} from '@cinema/testing';
import { PAGE_VIEW_TOPICS, topicNamesOf } from '@cinema/kafka';

const ROOT = path.resolve(__dirname, '..');
let issuer: TestIssuer;
const sfx = suffix();

const runMain = (env: Record<string, string>) =>
  runServiceMain(ROOT, { LOG_LEVEL: 'warn', ...env });

beforeAll(async () => {
  issuer = await startTestIssuer();
});
afterAll(async () => {
  await issuer?.close();
  await deleteTestTopics(topicNamesOf(Object.values(PAGE_VIEW_TOPICS), `test.${sfx}.`));
});

it('refuses bad configuration with exit code 78', async () => {
  const run = runMain({ ELASTICSEARCH_URL: 'x', CACHE_TTL_SECONDS: '-1' });
  expect(await run.exited).toBe(78);
  for (const name of ['ELASTICSEARCH_URL', 'REDIS_URL', 'KAFKA_BROKERS', 'CACHE_TTL_SECONDS']) {
    expect(run.output()).toContain(name);
  }
});

it('serves the API, its docs and probes, and stops on SIGTERM', async () => {
  const port = await freePort();
  const run = runMain({
    PORT: String(port),
    ELASTICSEARCH_URL: process.env.ELASTICSEARCH_URL!,
    REDIS_URL: process.env.REDIS_URL!,
    KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
    ES_INDEX_PREFIX: `apimain_${sfx}_`,
    CACHE_KEY_PREFIX: `catalog-api-test:${sfx}:`,
    KAFKA_TOPIC_PREFIX: `test.${sfx}.`,
    AUTH_JWKS_URL: issuer.jwksUrl,
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok, 30_000, 'readyz');
    const spec = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: object };
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/films',
        '/api/v1/films/search',
        '/api/v1/films/{film_id}',
        '/api/v1/genres',
        '/api/v1/genres/{genre_id}',
        '/api/v1/persons/search',
        '/api/v1/persons/{person_id}',
        '/api/v1/persons/{person_id}/film',
      ]),
    );
    expect((await fetch(`${base}/docs/`)).status).toBe(200);
    expect((await fetch(`${base}/api/v1/genres`)).status).toBe(401);
    // No index yet (the ETL has not run for this prefix): an empty list, not an error.
    const r = await fetch(`${base}/api/v1/genres`, {
      headers: { authorization: `Bearer ${await issuer.token('main-test-user')}` },
    });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ items: [], total: 0 });
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  } finally {
    if (run.child.exitCode === null) run.child.kill('SIGKILL');
  }
});
