/**
 * Tells catalog-api that cached answers may be stale: bumps the cache generation in Redis, which
 * is part of every cached entry (an entry of an older generation is a miss).
 */
import type { Redis } from 'ioredis';
import type { Logger } from '@cinema/logging';
import type { CacheInvalidator } from '../domain/etl';

export class CacheGeneration implements CacheInvalidator {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly logger: Logger,
    private readonly onFailure: () => void = () => undefined,
  ) {}

  async invalidate(): Promise<void> {
    try {
      await this.redis.incr(this.key);
    } catch (err) {
      // Not fatal: cached answers still expire after their TTL.
      this.onFailure();
      this.logger.warn({ err }, 'could not bump the cache generation; cache entries expire by TTL');
    }
  }
}
