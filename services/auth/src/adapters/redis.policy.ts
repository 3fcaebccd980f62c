/**
 * Auth's Redis must never evict: lockouts and rate-limit windows are keys with a TTL, and a Redis
 * that evicts under memory pressure (`allkeys-*`, or `volatile-*`, which picks exactly such keys)
 * silently erases them, so an attacker who fills it (or a busy cache sharing it) lifts every
 * lockout. Auth gets a Redis of its own with `maxmemory-policy noeviction` (the chart's
 * `cinema-auth-redis`; the local stack's Redis has no memory limit and `noeviction`). When full, a
 * noeviction Redis refuses writes, and auth refuses logins (fail closed) rather than forgetting.
 *
 * The readiness check says so: not ready on a Redis that evicts (a memory limit and a policy
 * other than noeviction); when `CONFIG GET` is not allowed (managed Redis), it only pings and
 * reports the policy as unknown.
 */
import type { Redis } from 'ioredis';

export interface EvictionPolicy {
  policy?: string;
  maxmemory?: number;
}

export async function evictionPolicy(redis: Redis): Promise<EvictionPolicy> {
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const [, maxmemory] = (await redis.config('GET', 'maxmemory')) as string[];
    return { policy, maxmemory: maxmemory === undefined ? undefined : Number(maxmemory) };
  } catch {
    return {};
  }
}

/** Evicts keys: a memory limit, and a policy other than noeviction. */
export const evicts = (p: EvictionPolicy): boolean =>
  p.policy !== undefined && p.policy !== 'noeviction' && (p.maxmemory ?? 0) > 0;

/** The readiness check of auth's Redis. */
export function redisReadiness(redis: Redis): () => Promise<{ detail: string }> {
  return async () => {
    await redis.ping();
    const p = await evictionPolicy(redis);
    if (evicts(p)) {
      throw new Error(
        `this Redis evicts keys (maxmemory-policy ${p.policy}, maxmemory ${p.maxmemory}): lockouts and rate limits could vanish; give auth a Redis with maxmemory-policy noeviction`,
      );
    }
    return {
      detail:
        p.policy === undefined
          ? 'eviction policy unknown (CONFIG GET not allowed)'
          : `maxmemory-policy ${p.policy}, maxmemory ${p.maxmemory}`,
    };
  };
}
