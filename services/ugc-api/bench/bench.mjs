#!/usr/bin/env node
/**
 * Benchmark: rating writes/s and film-summary reads/s with p99 latency, against the service
 * built in dist/ running in-process over MONGODB_URL (or the local stack's FerretDB, started or
 * reused through @cinema/stack). Afterwards every film's stored counters are compared with a
 * recount. Usage: npm run bench -w services/ugc-api
 * Knobs: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 20), BENCH_FILMS (default 20).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const root = join(here, '..', '..', '..');
const dist = join(here, '..', 'dist');

const autocannon = require('autocannon');
const { MongoClient } = require('mongodb');
const { exportJWK, generateKeyPair, SignJWT } = require('jose');
const { createTokenVerifier } = require('@cinema/auth');
const { createLogger } = require('@cinema/logging');
let buildApp, wireServices;
try {
  ({ buildApp } = require(join(dist, 'app.js')));
  ({ wireServices } = require(join(dist, 'wiring.js')));
} catch (err) {
  console.error(
    `build the service first: node scripts/tsoa.mjs services/ugc-api && npx tsc -b services/ugc-api\n${err.message}`,
  );
  process.exit(1);
}

const duration = Number(process.env.BENCH_DURATION ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 20);
const filmCount = Number(process.env.BENCH_FILMS ?? 20);

let url = process.env.MONGODB_URL;
if (!url) {
  const { startStack } = require(join(root, 'packages', 'stack', 'dist', 'index.js'));
  const stack = await startStack({ only: ['mongodb'] });
  url = stack.env.MONGODB_URL;
}

const { privateKey, publicKey } = await generateKeyPair('RS256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
const jwks = createServer((_req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ keys: [jwk] }));
});
await new Promise((resolve) => jwks.listen(0, '127.0.0.1', resolve));

const client = await new MongoClient(url, { maxPoolSize: 50 }).connect();
const db = client.db(`ugc_bench_${randomBytes(4).toString('hex')}`);
const services = await wireServices(db, { lockWaitMs: 30_000 });
const app = buildApp({
  config: { CORS_ORIGINS: [], BODY_LIMIT: '100kb' },
  logger: createLogger({ service: 'ugc-api-bench', level: 'silent' }),
  services,
  verifier: createTokenVerifier({
    jwksUrl: `http://127.0.0.1:${jwks.address().port}/jwks`,
    issuer: 'cinema-auth',
    audience: 'cinema',
  }),
  readiness: {},
});
const server = await new Promise((resolve) => {
  const s = app.listen(0, '127.0.0.1', () => resolve(s));
});
const base = `http://127.0.0.1:${server.address().port}`;

const tokens = await Promise.all(
  Array.from({ length: 500 }, () =>
    new SignJWT({ roles: ['public_user'], typ: 'access' })
      .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
      .setSubject(randomUUID())
      .setIssuer('cinema-auth')
      .setAudience('cinema')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey),
  ),
);
const films = Array.from({ length: filmCount }, () => randomUUID());
const pick = (list) => list[Math.floor(Math.random() * list.length)];

async function run(title, request) {
  const result = await autocannon({
    url: base,
    connections,
    duration,
    requests: [{ setupRequest: (req) => ({ ...req, ...request() }) }],
  });
  const line = {
    bench: title,
    'req/s': Math.round(result.requests.average),
    'p50 ms': result.latency.p50,
    'p99 ms': result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
  console.log(JSON.stringify(line));
  return line;
}

console.log(
  `ugc-api bench: ${connections} connections, ${duration} s per run, ${films.length} films, ${tokens.length} users, ${url.replace(/\/\/[^@/]*@/, '//***@')}`,
);
const writes = await run('rating writes (PUT /api/v1/ugc/ratings/{filmId})', () => ({
  method: 'PUT',
  path: `/api/v1/ugc/ratings/${pick(films)}`,
  headers: { authorization: `Bearer ${pick(tokens)}`, 'content-type': 'application/json' },
  body: JSON.stringify({ score: Math.floor(Math.random() * 11) }),
}));
const reads = await run('film summary reads (GET /api/v1/ugc/films/{filmId}/rating)', () => ({
  method: 'GET',
  path: `/api/v1/ugc/films/${pick(films)}/rating`,
  headers: { authorization: `Bearer ${pick(tokens)}` },
}));

// The counters after the write storm must equal a recount.
let exact = 0;
for (const filmId of films) {
  const docs = await db.collection('ratings').find({ filmId }).toArray();
  const counters = await db.collection('film_ratings').findOne({ _id: filmId });
  const same =
    (counters?.count ?? 0) === docs.length &&
    (counters?.sum ?? 0) === docs.reduce((s, d) => s + d.score, 0);
  if (same) exact++;
  else console.log(`MISMATCH ${filmId}: stored ${JSON.stringify(counters)} vs ${docs.length} docs`);
}
console.log(
  `counters equal to a recount for ${exact}/${films.length} films (writes ${writes['req/s']}/s, reads ${reads['req/s']}/s)`,
);

await new Promise((resolve) => server.close(resolve));
await db.dropDatabase();
await client.close();
jwks.close();
process.exit(exact === films.length && !writes.non2xx && !reads.non2xx ? 0 : 1);
