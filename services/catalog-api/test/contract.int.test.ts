/**
 * The contract: every operation of the spec, driven with valid and invalid requests against the
 * app built by buildApp over the stack's Elasticsearch, Redis and Kafka, answers only what the
 * spec documents (status, media type, body schema).
 */
import { Client } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import {
  deleteTestTopics,
  describeViolations,
  driveContract,
  serveForContract,
  startTestIssuer,
  suffix,
  type TestIssuer,
} from '@cinema/testing';
import { PAGE_VIEW_TOPICS, topicName } from '@cinema/kafka';
import { PAGE_VIEW_ENDPOINTS } from '../src/adapters/page-views.producer';
import spec from '../src/generated/swagger.json';
import { generateCatalog, IndexedCatalog, type Catalog } from './catalog-fixture';
import { makeApi } from './support';

const sfx = suffix();
const prefix = `contract_${sfx}_`;
const topicPrefix = `test.${sfx}.`;
const generationKey = `catalog-api-contract:${sfx}:generation`;
const es = new Client({ node: process.env.ELASTICSEARCH_URL! });
const redis = new Redis(process.env.REDIS_URL!);
let index: IndexedCatalog;
let catalog: Catalog;
let issuer: TestIssuer;
let api: ReturnType<typeof makeApi>;
let served: Awaited<ReturnType<typeof serveForContract>>;

beforeAll(async () => {
  catalog = generateCatalog({ films: 20, genres: 3, persons: 6 });
  index = new IndexedCatalog(es, prefix, redis, generationKey, catalog);
  await index.load();
  issuer = await startTestIssuer();
  api = makeApi({
    prefix,
    jwksUrl: issuer.jwksUrl,
    topicPrefix,
    generationKey,
    cachePrefix: `catalog-api-contract:${sfx}:`,
  });
  served = await serveForContract(api.app);
});

afterAll(async () => {
  await served?.close();
  await api?.close();
  await issuer?.close();
  await deleteTestTopics(
    PAGE_VIEW_ENDPOINTS.map((e) => topicName(PAGE_VIEW_TOPICS[e], topicPrefix)),
  );
  await index?.drop();
  const keys = await redis.keys(`catalog-api-contract:${sfx}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await es.close();
});

it('answers every operation as the spec documents', async () => {
  const report = await driveContract({
    spec,
    baseUrl: served.baseUrl,
    token: (roles) => issuer.token('contract-user', roles),
    values: {
      film_id: catalog.films[0].id,
      person_id: catalog.persons[0].id,
      genre_id: catalog.genres[0].id,
      query: catalog.films[0].title.split(' ')[0],
      prefix: catalog.films[0].title.slice(0, 3),
    },
  });
  expect(describeViolations(report.violations)).toBe('');
  expect(report.operations).toBe(Object.values(spec.paths).flatMap((p) => Object.keys(p)).length);
  // The valid request of each operation succeeds.
  for (const [operation, statuses] of Object.entries(report.seen))
    expect([operation, statuses.some((s) => s < 300)]).toEqual([operation, true]);
});
