import { clusterId } from '../src/servers/kafka';

describe('Kafka cluster id', () => {
  it('never starts with "-" over many draws (1 in 64 did: kafka-storage read it as a flag)', () => {
    const draws = 20_000;
    const ids = Array.from({ length: draws }, () => clusterId());
    expect(ids.filter((id) => id.startsWith('-'))).toEqual([]);
    // 16 bytes in base64url without padding, all distinct.
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(new Set(ids).size).toBe(draws);
  });

  it('draws again when the bytes give a leading "-" (first byte 0xf8-0xfb) or are all zero', () => {
    const dash = Buffer.alloc(16, 0xf8);
    const zero = Buffer.alloc(16, 0);
    const good = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    expect(dash.toString('base64url').startsWith('-')).toBe(true);
    const queue = [dash, zero, dash, good];
    const random = jest.fn((size: number) => {
      expect(size).toBe(16);
      return queue.shift()!;
    });
    expect(clusterId(random)).toBe(good.toString('base64url'));
    expect(random).toHaveBeenCalledTimes(4);
  });
});
