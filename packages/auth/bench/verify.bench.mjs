#!/usr/bin/env node
/**
 * Access-token verification cost with the session deny list in place (issue 13 item 5): what
 * every service pays per request. Prints the first verification of a token (signature, RS256),
 * and a repeat verification (cache hit + deny-list lookup) with a deny list of
 * BENCH_DENIED (default 10,000) ended sessions, against the same verifier without a feed.
 * No servers needed: `npx tsc -b packages/auth && node packages/auth/bench/verify.bench.mjs`.
 *   BENCH_REPEATS (default 1,000,000), BENCH_TOKENS (default 1,000)
 */
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const { exportJWK, generateKeyPair, SignJWT } = require('jose');
const { createTokenVerifier, RevocationFeed } = require('../dist/index.js');
const { createLogger } = require('@cinema/logging');

const repeats = Number(process.env.BENCH_REPEATS ?? 1_000_000);
const tokensCount = Number(process.env.BENCH_TOKENS ?? 1_000);
const denied = Number(process.env.BENCH_DENIED ?? 10_000);

const { privateKey, publicKey } = await generateKeyPair('RS256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
const options = { jwks: { keys: [jwk] }, issuer: 'bench', audience: 'cinema' };
const feed = new RevocationFeed({ logger: createLogger({ service: 'bench', level: 'silent' }) });
const exp = Date.now() / 1000 + 900;
for (let i = 0; i < denied; i++) feed.denyList.add(randomUUID(), exp);
const withFeed = createTokenVerifier({ ...options, revocations: feed });
const without = createTokenVerifier(options);

const tokens = await Promise.all(
  Array.from({ length: tokensCount }, () =>
    new SignJWT({ typ: 'access', roles: ['public_user'], sid: randomUUID() })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject(randomUUID())
      .setIssuer('bench')
      .setAudience('cinema')
      .setIssuedAt()
      .setExpirationTime('15m')
      .sign(privateKey),
  ),
);

async function first(verify) {
  const t0 = performance.now();
  for (const t of tokens) await verify(t);
  return ((performance.now() - t0) * 1000) / tokens.length;
}
async function repeat(verify) {
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) await verify(tokens[i % tokens.length]);
  return ((performance.now() - t0) * 1000) / repeats;
}

const firstWith = await first(withFeed);
const firstWithout = await first(without);
await repeat(withFeed); // warm-up
await repeat(without);
const repeatWith = await repeat(withFeed);
const repeatWithout = await repeat(without);
// A revoked token answered from the cache: refused.
feed.denyList.add(
  JSON.parse(Buffer.from(tokens[0].split('.')[1], 'base64url').toString()).sid,
  exp,
);
const refused = await withFeed(tokens[0]).then(
  () => false,
  () => true,
);
const f = (n) => n.toFixed(2);
console.log(
  `token verification (RS256, ${tokensCount} tokens, deny list of ${feed.denyList.size} sessions, Node ${process.version}):\n` +
    `  first verification: ${f(firstWith)} µs with the deny list, ${f(firstWithout)} µs without\n` +
    `  repeat verification (cache hit): ${f(repeatWith)} µs with the deny list, ${f(repeatWithout)} µs without (${repeats} calls)\n` +
    `  a cached token of an ended session refused: ${refused}`,
);
if (!refused || repeatWith >= 5) process.exitCode = 1;
