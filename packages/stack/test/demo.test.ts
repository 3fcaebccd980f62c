import { demoEnabled, generatePassword } from '../src/demo';

describe('demo data settings', () => {
  it('is on unless DEMO_DATA says false', () => {
    expect(demoEnabled({})).toBe(true);
    expect(demoEnabled({ DEMO_DATA: 'true' })).toBe(true);
    for (const off of ['false', 'FALSE', '0', 'no', 'off', ' false ']) {
      expect(demoEnabled({ DEMO_DATA: off })).toBe(false);
    }
  });

  it("generates passwords auth accepts (8+ chars, 4+ distinct, not the e-mail's name)", () => {
    for (let i = 0; i < 500; i++) {
      const password = generatePassword('admin@cinema.local');
      expect(password).toMatch(/^[A-Za-z0-9_-]{20}$/);
      expect(new Set(password).size).toBeGreaterThanOrEqual(4);
      expect(password.toLowerCase()).not.toContain('admin');
    }
    // Bytes that spell the e-mail's name are drawn again.
    const queue = [Buffer.from('admin-admin-admin-ad', 'base64url'), Buffer.alloc(15, 7)];
    expect(generatePassword('admin@x.io', () => queue.shift()!)).toBe(
      Buffer.alloc(15, 7).toString('base64url'),
    );
  });
});
