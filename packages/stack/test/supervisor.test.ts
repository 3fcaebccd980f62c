import { backoffDelay } from '../src/supervisor';

describe('restart backoff', () => {
  it('doubles from the minimum up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, 1000, 30_000))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
    expect(backoffDelay(0)).toBe(1000);
    expect(backoffDelay(60)).toBe(30_000);
  });
});
