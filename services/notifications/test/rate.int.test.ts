/**
 * The channels' rate limit holds for the whole deployment: two replicas' limiters on one schema
 * (the `rate_buckets` row of PostgreSQL) together grant no more than the rate, and a fast
 * channel is granted in chunks rather than a token at a time.
 */
import { PgRateLimiter } from '../src/adapters/rate-buckets';
import { startService, type TestService } from './helpers';

let svc: TestService;

beforeAll(async () => {
  svc = await startService({ EMAIL_RATE_PER_SECOND: '40' }, { start: false });
});
afterAll(() => svc?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('two replicas share 40 mails/s: together they get about 40 a second, not 80', async () => {
  const replicas = [
    new PgRateLimiter(svc.deps.pool, { email: 40, sms: 5 }),
    new PgRateLimiter(svc.deps.pool, { email: 40, sms: 5 }),
  ];
  // Empty the bucket first, so the count below is the refill alone.
  await replicas[0]!.take('email', 1000);
  const granted = [0, 0];
  const chunks: number[] = [];
  const t0 = Date.now();
  await Promise.all(
    replicas.map(async (limiter, i) => {
      while (Date.now() - t0 < 2000) {
        const g = await limiter.take('email', 20);
        granted[i]! += g.granted;
        if (g.granted) chunks.push(g.granted);
        else {
          expect(g.waitMs).toBeGreaterThan(0);
          await sleep(Math.min(g.waitMs, 50));
        }
      }
    }),
  );
  const seconds = (Date.now() - t0) / 1000;
  const total = granted[0]! + granted[1]!;
  // The refill over the run (40/s), plus at most the bucket's one-second cap.
  expect(total).toBeLessThanOrEqual(Math.ceil(40 * seconds) + 40);
  expect(total).toBeGreaterThanOrEqual(Math.floor(40 * (seconds - 0.5)));
  // Both replicas got a share, and each grant is at least a tenth of a second's worth (4).
  expect(granted[0]).toBeGreaterThan(0);
  expect(granted[1]).toBeGreaterThan(0);
  expect(Math.min(...chunks)).toBeGreaterThanOrEqual(4);
});

test('refunds go back to the bucket, capped at one second of sending', async () => {
  const limiter = new PgRateLimiter(svc.deps.pool, { email: 40, sms: 5 });
  await limiter.take('email', 1000);
  await limiter.refund('email', 1000);
  const g = await limiter.take('email', 1000);
  expect(g.granted).toBe(40);
  // SMS at 5/s: chunks of one.
  await sleep(250);
  const sms = await limiter.take('sms', 20);
  expect(sms.granted).toBeGreaterThanOrEqual(1);
  expect(sms.granted).toBeLessThanOrEqual(5);
});

test('0 = unlimited: everything asked is granted without touching the table', async () => {
  const limiter = new PgRateLimiter(svc.deps.pool, { email: 0, sms: 0 });
  expect(await limiter.take('email', 500)).toEqual({ granted: 500, waitMs: 0 });
});
