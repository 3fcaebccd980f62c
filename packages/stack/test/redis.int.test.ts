import Redis from 'ioredis';

describe('redis (local stack)', () => {
  const redis = new Redis(process.env.REDIS_URL!);
  afterAll(() => redis.quit());

  it('sets, gets and expires a key', async () => {
    const key = `stack-test:${process.pid}:${Date.now()}`;
    expect(await redis.set(key, 'popcorn')).toBe('OK');
    expect(await redis.get(key)).toBe('popcorn');
    expect(await redis.expire(key, 1)).toBe(1);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1000);
    await new Promise((r) => setTimeout(r, 1200));
    expect(await redis.get(key)).toBeNull();
  });
});
