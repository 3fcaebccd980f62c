#!/usr/bin/env node
/**
 * Auth benchmark (run on demand: `npm run bench -w services/auth` after building the service).
 * Prints password logins/s over HTTP (argon2id with the production parameters, real PostgreSQL
 * and Redis) and local access-token verifications/s with @cinema/auth (what every other
 * service does per request). Uses the running local stack, or starts the servers it needs.
 *   BENCH_SECONDS (default 10), BENCH_CONCURRENCY (default 8), BENCH_VERIFICATIONS (20000)
 */
import { createRequire } from 'node:module';
import { createPublicKey, verify as rawVerify } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';

const require = createRequire(import.meta.url);
const { startStack } = require('@cinema/stack');
const { createLogger } = require('@cinema/logging');
const { createTokenVerifier } = require('@cinema/auth');
const { Lifecycle } = require('@cinema/http');
const { readConfig } = require('../dist/config.js');
const { wireAdapters, wireDependencies } = require('../dist/wiring.js');
const { buildApp } = require('../dist/app.js');

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const verifications = Number(process.env.BENCH_VERIFICATIONS ?? 20_000);

const stack = await startStack({ only: ['postgres', 'redis', 'rabbitmq'] });
Object.assign(process.env, stack.env);
const schema = `auth_bench_${Math.random().toString(36).slice(2, 8)}`;
const config = readConfig({
  ...process.env,
  AUTH_DB_SCHEMA: schema,
  RATE_LIMIT_PREFIX: `auth:bench:${schema}`,
  RATE_LIMIT_IP_PER_MINUTE: '100000000',
  // One account logs in `concurrency` times at once: each login reserves a password evaluation
  // against the lockout before it runs, so the limit must exceed the concurrency here.
  LOGIN_MAX_FAILURES: '100000',
  LOG_LEVEL: 'warn',
});
const logger = createLogger({
  service: 'auth-bench',
  level: 'warn',
  destination: new Writable({ write: (_c, _e, done) => done() }),
});
// The service's own wiring; its shutdown hooks run at the end as on SIGTERM.
const lifecycle = new Lifecycle(logger, 10_000);
const runtime = { config, logger, lifecycle };
const c = await wireAdapters(runtime);
const app = buildApp(wireDependencies(c, runtime));
const server = app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${server.address().port}`;

try {
  const email = `bench-${Date.now()}@example.com`;
  const password = 'correct horse battery staple';
  const reg = await fetch(`${base}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${await reg.text()}`);

  // 1. Logins over HTTP.
  const latencies = [];
  let ok = 0;
  let failed = 0;
  let token;
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const t = performance.now();
        const res = await fetch(`${base}/api/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'bench/1.0' },
          body: JSON.stringify({ email, password }),
        });
        const body = await res.json();
        latencies.push(performance.now() - t);
        if (res.status === 200) {
          ok++;
          token = body.accessToken;
        } else failed++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
  console.log(
    `logins: ${(ok / seconds).toFixed(1)}/s over ${seconds}s, concurrency ${concurrency}, ` +
      `argon2id m=${config.ARGON2_MEMORY_KIB}KiB t=${config.ARGON2_TIME_COST} p=${config.ARGON2_PARALLELISM}; ` +
      `latency p50 ${pct(0.5).toFixed(1)} ms, p99 ${pct(0.99).toFixed(1)} ms; failed ${failed}`,
  );

  // 2. Local verification, as another service does it (JWKS fetched once over HTTP, cached):
  // first with the verified-token cache off (every call checks the signature), then as services
  // run it (a token seen before is answered from memory until it expires).
  const timeVerifications = async (verify) => {
    await verify(token);
    for (let i = 0; i < 2000; i++) await verify(token); // warm-up
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < verifications; i++) await verify(token);
    return Number(process.hrtime.bigint() - t0);
  };
  const verifierOptions = {
    jwksUrl: `${base}/.well-known/jwks.json`,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  };
  for (const [label, cacheSize] of [
    ['signature checked every time', 0],
    ['repeat token, verified-token cache', undefined],
  ]) {
    const ns = await timeVerifications(createTokenVerifier({ ...verifierOptions, cacheSize }));
    console.log(
      `local token verifications (${label}): ${Math.round(verifications / (ns / 1e9))}/s, ` +
        `${(ns / verifications / 1000).toFixed(1)} µs each (${config.JWT_ALG}, ${verifications} sequential)`,
    );
  }
  // Baseline on this machine right now: the bare RSA signature check inside each verification.
  const jwk = c.keys
    .jwks()
    .keys.find((k) => k.kid === JSON.parse(Buffer.from(token.split('.')[0], 'base64url')).kid);
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const [h, p, sig] = token.split('.');
  const data = Buffer.from(`${h}.${p}`);
  const signature = Buffer.from(sig, 'base64url');
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < verifications; i++) rawVerify('sha256', data, key, signature);
  const rawNs = Number(process.hrtime.bigint() - t1);
  console.log(
    `baseline: bare RSA signature check ${(rawNs / verifications / 1000).toFixed(1)} µs; ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${require('node:os').cpus().length} cores`,
  );
} finally {
  await new Promise((r) => server.close(r));
  await c.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await lifecycle.shutdown('bench done');
  await stack.stop();
}
