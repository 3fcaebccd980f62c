/**
 * The cache of answers: a small in-process LRU in front of Redis. Every entry carries the cache
 * generation it was computed under and when it was computed; catalog-etl bumps the generation
 * after each change it indexes.
 *
 * - Redis: one round trip per lookup (MGET of the generation and the entry); an entry of an
 *   older generation is a miss; Redis expires entries after the TTL.
 * - In process: a hit needs no round trip. The generation it is compared with is re-read from
 *   Redis when the last read is older than `localCheckMs`, so after the ETL writes an older
 *   answer is served for at most `localCheckMs` more; and no entry is served once it is older
 *   than the TTL (counted from when it was computed, also for entries taken from Redis). So the
 *   rule "never serves a film the ETL has since changed for longer than the TTL" holds with
 *   `localCheckMs` below the TTL (enforced by the config).
 *
 * Hits hand out the same (never modified) object, whose JSON bytes are kept with it
 * (`serialised`), so the app writes the answer without serialising it again. Redis trouble
 * degrades to no cache, never to an error.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import * as client from 'prom-client';
import type { Logger } from '@cinema/logging';
import type { AnswerCache } from '../domain/catalog';

/** The JSON bytes of an answer the cache handed out, if it kept them (app.ts writes them). */
export interface SerialisedAnswers {
  serialised(answer: unknown): Buffer | undefined;
}

export interface AnswerCacheOptions {
  prefix: string;
  generationKey: string;
  ttlSeconds: number;
  /** In-process entries at most (least recently used go first); 0 turns that layer off. */
  localMaxEntries?: number;
  /** How old the generation an in-process hit is checked against may be. */
  localCheckMs?: number;
}

interface LocalEntry {
  g: string;
  /** Computed at (ms since the epoch). */
  t: number;
  v: unknown;
}

export class RedisAnswerCache implements AnswerCache, SerialisedAnswers {
  private readonly requests: client.Counter<'result'>;
  private lastWarning = 0;
  private readonly local = new Map<string, LocalEntry>();
  private readonly localMax: number;
  private readonly checkMs: number;
  private readonly ttlMs: number;
  private generation: string | undefined;
  private generationReadAt = 0;
  private generationRead: Promise<string | undefined> | undefined;
  /**
   * The JSON bytes of each answer kept in process. Weakly held: an answer evicted from the cache
   * takes its bytes with it.
   */
  private readonly bytes = new WeakMap<object, Buffer>();

  constructor(
    private readonly redis: Redis,
    private readonly options: AnswerCacheOptions,
    private readonly logger: Logger,
    registry: client.Registry,
  ) {
    this.localMax = options.localMaxEntries ?? 10_000;
    this.checkMs = options.localCheckMs ?? 100;
    this.ttlMs = options.ttlSeconds * 1000;
    this.requests = new client.Counter({
      name: 'catalog_api_cache_requests_total',
      help: 'Cache lookups by result (hit: in process or Redis, miss, error)',
      labelNames: ['result'],
      registers: [registry],
    });
  }

  /** The canonical form of a call: name and its defined parameters, sorted. */
  private canonical(name: string, params: object): string {
    const record = params as Record<string, unknown>;
    return `${name}:${JSON.stringify(
      Object.keys(record)
        .sort()
        .filter((k) => record[k] !== undefined)
        .map((k) => [k, record[k]]),
    )}`;
  }

  key(name: string, params: object): string {
    return this.redisKey(this.canonical(name, params));
  }

  private redisKey(canonical: string): string {
    const colon = canonical.indexOf(':');
    const digest = createHash('sha1')
      .update(canonical.slice(colon + 1))
      .digest('base64url');
    return `${this.options.prefix}${canonical.slice(0, colon)}:${digest}`;
  }

  async through<T>(name: string, params: object, compute: () => Promise<T>): Promise<T> {
    const canonical = this.canonical(name, params);
    const now = Date.now();
    if (this.localMax > 0) {
      const entry = this.local.get(canonical);
      if (entry) {
        const generation =
          now - this.generationReadAt <= this.checkMs
            ? this.generation
            : await this.readGeneration();
        if (entry.g === generation && Date.now() - entry.t < this.ttlMs) {
          // Most recently used goes last.
          this.local.delete(canonical);
          this.local.set(canonical, entry);
          this.requests.inc({ result: 'hit' });
          return entry.v as T;
        }
        this.local.delete(canonical);
      }
    }

    const key = this.redisKey(canonical);
    let generation: string | undefined;
    try {
      const [gen, raw] = await this.redis.mget(this.options.generationKey, key);
      generation = gen ?? '0';
      this.noteGeneration(generation, now);
      if (raw) {
        const entry = JSON.parse(raw) as { g: string; t?: number; v: T };
        if (entry.g === generation) {
          this.requests.inc({ result: 'hit' });
          if (entry.t !== undefined) this.keep(canonical, generation, entry.t, entry.v);
          return entry.v;
        }
      }
      this.requests.inc({ result: 'miss' });
    } catch (err) {
      this.failed(err);
    }
    const computedAt = Date.now();
    const value = await compute();
    if (generation !== undefined) {
      const json = JSON.stringify(value);
      // The same bytes as JSON.stringify({ g, t, v }), without serialising the value twice.
      this.redis
        .set(
          key,
          `{"g":${JSON.stringify(generation)},"t":${computedAt},"v":${json}}`,
          'EX',
          this.options.ttlSeconds,
        )
        .catch((err: unknown) => this.failed(err));
      this.keep(canonical, generation, computedAt, value, json);
    }
    return value;
  }

  /** The JSON bytes of `answer` when it is an object this cache handed out from process. */
  serialised(answer: unknown): Buffer | undefined {
    return answer !== null && typeof answer === 'object' ? this.bytes.get(answer) : undefined;
  }

  private keep(canonical: string, g: string, t: number, v: unknown, json?: string): void {
    if (this.localMax <= 0 || v === null || typeof v !== 'object') return;
    this.bytes.set(v, Buffer.from(json ?? JSON.stringify(v)));
    this.local.delete(canonical);
    this.local.set(canonical, { g, t, v });
    if (this.local.size > this.localMax) {
      this.local.delete(this.local.keys().next().value as string);
    }
  }

  private noteGeneration(generation: string, readAt: number): void {
    if (readAt >= this.generationReadAt) {
      this.generation = generation;
      this.generationReadAt = readAt;
    }
  }

  /** The current generation (one read in flight at a time); undefined when Redis fails. */
  private readGeneration(): Promise<string | undefined> {
    this.generationRead ??= (async () => {
      const started = Date.now();
      try {
        const generation = (await this.redis.get(this.options.generationKey)) ?? '0';
        this.noteGeneration(generation, started);
        return generation;
      } catch (err) {
        this.failed(err);
        return undefined;
      } finally {
        this.generationRead = undefined;
      }
    })();
    return this.generationRead;
  }

  private failed(err: unknown): void {
    this.requests.inc({ result: 'error' });
    if (Date.now() - this.lastWarning > 10_000) {
      this.lastWarning = Date.now();
      this.logger.warn({ err }, 'cache unavailable; answering from the index');
    }
  }
}
