/**
 * Issue 13 item 9: lockouts must survive memory pressure. Two private Redis servers of 4 MiB
 * each: one as the catalog cache's (allkeys-lru, as cinema-redis in the cluster), one as auth's
 * own (noeviction, as cinema-auth-redis). An account is locked, then the Redis is filled far past
 * its limit. On the LRU one (auth sharing the cache, as before) the lockout is evicted and the
 * right password gets in again, and auth's readiness refuses that Redis; on auth's own Redis the
 * lockout survives (writes beyond the limit are refused, logins fail closed), readiness is up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import request from 'supertest';
import { freePort } from '@cinema/testing';
import { dropSchema, startService, suffix, type TestService } from './helpers';

jest.setTimeout(120_000);

const password = 'correct horse battery';
const servers: ChildProcess[] = [];

afterAll(() => {
  for (const s of servers) s.kill('SIGTERM');
});

/** A redis-server of its own (the binary the local stack installs) with a 4 MiB limit. */
async function privateRedis(policy: string): Promise<string> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory',
      '4mb',
      '--maxmemory-policy',
      policy,
    ],
    { stdio: 'ignore' },
  );
  servers.push(child);
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: null });
  for (let i = 0; ; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  probe.disconnect();
  return url;
}

/** What a busy cache does to the Redis: 40 MiB of 16 KiB answers (ten times the limit). */
async function fill(url: string): Promise<{ evicted: number; refused: number }> {
  const redis = new Redis(url, { maxRetriesPerRequest: 0 });
  const value = 'x'.repeat(16 * 1024);
  let refused = 0;
  for (let i = 0; i < 2560; i += 64) {
    const batch = redis.pipeline();
    for (let j = i; j < i + 64; j++) batch.set(`catalog-api:cache:${j}`, value, 'EX', 600);
    const results = (await batch.exec()) ?? [];
    refused += results.filter(([err]) => err).length;
  }
  const stats = await redis.info('stats');
  redis.disconnect();
  return { evicted: Number(/evicted_keys:(\d+)/.exec(stats)?.[1] ?? 0), refused };
}

async function lockedAccount(s: TestService): Promise<string> {
  const email = `locked-${suffix()}@example.com`;
  expect(
    (await request(s.app).post('/api/v1/auth/register').send({ email, password })).status,
  ).toBe(201);
  for (let i = 0; i < s.config.LOGIN_MAX_FAILURES; i++) {
    await request(s.app).post('/api/v1/auth/login').send({ email, password: 'wrong password' });
  }
  const locked = await request(s.app).post('/api/v1/auth/login').send({ email, password });
  expect(locked.status).toBe(429);
  return email;
}

describe('lockouts under memory pressure', () => {
  it('vanish on a Redis that evicts (auth sharing the LRU cache), which readiness refuses', async () => {
    const url = await privateRedis('allkeys-lru');
    const s = await startService({ REDIS_URL: url });
    try {
      const ready = await request(s.app).get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.checks.redis.error).toMatch(/evicts keys \(maxmemory-policy allkeys-lru/);

      const email = await lockedAccount(s);
      const { evicted } = await fill(url);
      expect(evicted).toBeGreaterThan(0);
      const after = await request(s.app).post('/api/v1/auth/login').send({ email, password });
      console.log(`allkeys-lru: ${evicted} keys evicted; login after the lockout: ${after.status}`);
      expect(after.status).toBe(200); // the lockout was erased: why auth gets its own Redis
    } finally {
      await s.close();
      await dropSchema(s.schema);
    }
  });

  it("survive on auth's own Redis (noeviction): still 429 after it was filled", async () => {
    const url = await privateRedis('noeviction');
    const s = await startService({ REDIS_URL: url });
    try {
      const ready = await request(s.app).get('/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body.checks.redis).toEqual({
        status: 'up',
        detail: 'maxmemory-policy noeviction, maxmemory 4194304',
      });

      const email = await lockedAccount(s);
      const { evicted, refused } = await fill(url);
      expect(evicted).toBe(0);
      expect(refused).toBeGreaterThan(0);
      const full = await request(s.app).post('/api/v1/auth/login').send({ email, password });
      // Full: the lockout is still there; nothing gets in (429, or 5xx when a write is refused).
      expect(full.status === 429 || full.status >= 500).toBe(true);
      expect(full.status).not.toBe(200);

      // Room again (the cache's answers expire): the lockout is still in force.
      const redis = new Redis(url);
      const keys = await redis.keys('catalog-api:cache:*');
      for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
      redis.disconnect();
      const after = await request(s.app).post('/api/v1/auth/login').send({ email, password });
      console.log(
        `noeviction: ${refused} cache writes refused, 0 evicted; login while full: ${full.status}, after: ${after.status}`,
      );
      expect(after.status).toBe(429);
    } finally {
      await s.close();
      await dropSchema(s.schema);
    }
  });
});
