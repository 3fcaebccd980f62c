/**
 * Leased locks in the `locks` collection: a lock is a document whose `_id` is the key, so taking
 * it is an insert that the `_id` index makes atomic on MongoDB and on FerretDB alike. A lock
 * whose lease expired (its holder crashed) is deleted by the next taker. Within one process,
 * callers for the same key queue in memory first, so only one of them polls the database.
 */
import { randomUUID } from 'node:crypto';
import { ServiceUnavailableError } from '@cinema/http';
import type { Logger } from '@cinema/logging';
import type { Locks } from '../domain/ports';
import { guard, isDuplicateKey, type Collections } from './mongo';

export interface LockOptions {
  leaseMs: number;
  waitMs: number;
  logger?: Logger;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class MongoLocks implements Locks {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(
    private readonly c: Collections,
    private readonly options: LockOptions,
  ) {}

  async withLock<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    try {
      await previous;
      return await this.withStoredLock(key, task);
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  private async withStoredLock<T>(key: string, task: () => Promise<T>): Promise<T> {
    const owner = randomUUID();
    const deadline = Date.now() + this.options.waitMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await guard(() =>
          this.c.locks.insertOne({
            _id: key,
            owner,
            expiresAt: new Date(Date.now() + this.options.leaseMs),
          }),
        );
        break;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const held = await guard(() => this.c.locks.findOne({ _id: key }));
      if (held && held.expiresAt.getTime() < Date.now()) {
        this.options.logger?.warn({ lock: key }, 'taking over an expired lock');
        await guard(() => this.c.locks.deleteOne({ _id: key, owner: held.owner }));
        continue;
      }
      if (Date.now() > deadline)
        throw new ServiceUnavailableError(`busy: ${key.split(':')[0]} is being changed`, 1);
      await sleep(Math.min(50, 2 ** Math.min(attempt, 5)) * (0.5 + Math.random()));
    }
    try {
      return await task();
    } finally {
      await guard(() => this.c.locks.deleteOne({ _id: key, owner })).catch((err: unknown) =>
        this.options.logger?.error({ err, lock: key }, 'could not release a lock'),
      );
    }
  }
}
