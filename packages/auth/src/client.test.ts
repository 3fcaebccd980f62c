import { clientHeaders, clientOf } from './client';

describe('the admin panels tell auth who the client is', () => {
  it('forwards a well-formed address and a bounded user agent, nothing else', () => {
    expect(clientHeaders({ ip: '203.0.113.7', userAgent: 'Firefox' })).toEqual({
      'x-forwarded-for': '203.0.113.7',
      'user-agent': 'Firefox',
    });
    expect(clientHeaders({ ip: '1.2.3.4, 5.6.7.8', userAgent: 'x'.repeat(600) })).toEqual({
      'user-agent': 'x'.repeat(512),
    });
    expect(clientHeaders(undefined)).toEqual({});
  });

  it("takes the request's resolved address (after the app's trusted proxies)", () => {
    const req = {
      ip: '198.51.100.9',
      header: (n: string) => (n === 'user-agent' ? 'UA' : undefined),
    };
    expect(clientOf(req)).toEqual({ ip: '198.51.100.9', userAgent: 'UA' });
  });
});
