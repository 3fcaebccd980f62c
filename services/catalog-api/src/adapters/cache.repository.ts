/**
 * Redis cache of answers. Every entry carries the cache generation it was computed under;
 * catalog-etl bumps the generation after each change it indexes, so an entry computed before
 * the change is a miss (and every entry expires after the TTL in any case). One round trip per
 * lookup (MGET of the generation and the entry). Redis trouble degrades to no cache, never to
 * an error.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import * as client from 'prom-client';
import type { Logger } from '@cinema/logging';
import type { AnswerCache } from '../domain/catalog';

export class RedisAnswerCache implements AnswerCache {
  private readonly requests: client.Counter<'result'>;
  private lastWarning = 0;

  constructor(
    private readonly redis: Redis,
    private readonly options: { prefix: string; generationKey: string; ttlSeconds: number },
    private readonly logger: Logger,
    registry: client.Registry,
  ) {
    this.requests = new client.Counter({
      name: 'catalog_api_cache_requests_total',
      help: 'Cache lookups by result (hit, miss, error)',
      labelNames: ['result'],
      registers: [registry],
    });
  }

  key(name: string, params: object): string {
    const record = params as Record<string, unknown>;
    const canonical = JSON.stringify(
      Object.keys(record)
        .sort()
        .filter((k) => record[k] !== undefined)
        .map((k) => [k, record[k]]),
    );
    const digest = createHash('sha1').update(canonical).digest('base64url');
    return `${this.options.prefix}${name}:${digest}`;
  }

  async through<T>(name: string, params: object, compute: () => Promise<T>): Promise<T> {
    const key = this.key(name, params);
    let generation: string | undefined;
    try {
      const [gen, raw] = await this.redis.mget(this.options.generationKey, key);
      generation = gen ?? '0';
      if (raw) {
        const entry = JSON.parse(raw) as { g: string; v: T };
        if (entry.g === generation) {
          this.requests.inc({ result: 'hit' });
          return entry.v;
        }
      }
      this.requests.inc({ result: 'miss' });
    } catch (err) {
      this.failed(err);
    }
    const value = await compute();
    if (generation !== undefined) {
      this.redis
        .set(key, JSON.stringify({ g: generation, v: value }), 'EX', this.options.ttlSeconds)
        .catch((err: unknown) => this.failed(err));
    }
    return value;
  }

  private failed(err: unknown): void {
    this.requests.inc({ result: 'error' });
    if (Date.now() - this.lastWarning > 10_000) {
      this.lastWarning = Date.now();
      this.logger.warn({ err }, 'cache unavailable; answering from the index');
    }
  }
}
