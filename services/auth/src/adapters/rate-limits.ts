/**
 * Rate limits and lockout in Redis (rate-limiter-flexible): attempts per IP per minute on
 * login/register/reset, registrations, reset and e-mail requests per account per hour, and a
 * lockout of an account after consecutive failed password evaluations (login, password change,
 * e-mail change), reserved before each evaluation. Over a limit: 429 with Retry-After.
 */
import { TooManyRequestsError } from '@cinema/errors';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { LimitedAction, Limiter } from '../domain/model';

export interface LimitOptions {
  prefix: string;
  ipPerMinute: number;
  accountPerHour: number;
  maxFailures: number;
  lockoutSeconds: number;
}

const retryAfter = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000));

export function createLimiter(redis: Redis, o: LimitOptions): Limiter {
  const make = (keyPrefix: string, points: number, duration: number, blockDuration = 0) =>
    new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${o.prefix}:${keyPrefix}`,
      points,
      duration,
      blockDuration,
      useRedisPackage: false,
    });
  const perIp = make('ip', o.ipPerMinute, 60);
  const perAccount = make('acct', o.accountPerHour, 3600);
  const failures = make('fail', o.maxFailures, o.lockoutSeconds, o.lockoutSeconds);

  async function consume(limiter: RateLimiterRedis, key: string, what: string) {
    try {
      await limiter.consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        throw new TooManyRequestsError(`too many ${what}; try again later`, retryAfter(err));
      }
      throw err;
    }
  }

  return {
    hitIp: (action: LimitedAction, ip: string) =>
      consume(perIp, `${action}:${ip}`, `${action} attempts from this address`),
    hitAccount: (action: LimitedAction, email: string) =>
      consume(perAccount, `${action}:${email}`, `${action} requests for this account`),
    async reserveAttempt(key) {
      // Counted before the password is evaluated (one atomic INCR in Redis): N attempts in
      // parallel get at most maxFailures evaluations; the next is refused and locks the key
      // for the whole lockout period.
      try {
        await failures.consume(key);
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          throw new TooManyRequestsError(
            'the account is locked after repeated failed attempts; try again later',
            retryAfter(err),
          );
        }
        throw err;
      }
    },
    async attemptSucceeded(key) {
      await failures.delete(key);
    },
  };
}
