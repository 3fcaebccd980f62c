import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServiceUnavailableError, UnauthorizedError } from '@cinema/errors';
import { clientHeaders, clientOf, createAuthClient } from './client';

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

describe('createAuthClient (through the generated auth client, against a local server)', () => {
  type Seen = { method: string; url: string; headers: IncomingHttpHeaders; body: string };
  let server: Server;
  let base: string;
  const seen: Seen[] = [];
  let answer: (res: ServerResponse) => void = (res) => res.end();
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        answer(res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => (seen.length = 0));
  const send = (status: number, body: string, type = 'application/json') => {
    answer = (res) => res.writeHead(status, { 'content-type': type }).end(body);
  };

  it('posts the credentials with the browser address, agent and a request id; answers tokens', async () => {
    send(200, JSON.stringify({ accessToken: 'a', refreshToken: 'r', expiresIn: 900 }));
    const tokens = await createAuthClient(`${base}/`).login('u@example.com', 'pw', {
      ip: '203.0.113.7',
      userAgent: 'Firefox',
    });
    expect(tokens).toEqual({ accessToken: 'a', refreshToken: 'r', expiresIn: 900 });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/api/v1/auth/login',
      body: JSON.stringify({ email: 'u@example.com', password: 'pw' }),
      headers: {
        'content-type': 'application/json',
        'x-forwarded-for': '203.0.113.7',
        'user-agent': 'Firefox',
        'x-request-id': expect.stringMatching(/^[0-9a-f-]{36}$/),
      },
    });
  });

  it('maps the answers as before: refusals 401, limits 401, failures 503, sent once', async () => {
    const client = createAuthClient(base);
    for (const status of [400, 401, 403, 422]) {
      send(status, JSON.stringify({ type: 'about:blank', title: 'no', status }));
      await expect(client.refresh('r')).rejects.toThrow(
        new UnauthorizedError('wrong e-mail or password'),
      );
    }
    send(429, '{}');
    await expect(client.login('u', 'p')).rejects.toThrow(/too many attempts/);
    send(503, '{}');
    await expect(client.login('u', 'p')).rejects.toThrow(
      new ServiceUnavailableError('the auth service answered 503'),
    );
    send(200, '{}');
    await expect(client.login('u', 'p')).rejects.toThrow(/gave no access token/);
    send(200, '<html>', 'text/html');
    await expect(client.login('u', 'p')).rejects.toThrow(/gave no access token/);
    expect(seen).toHaveLength(8); // a POST is never retried, not even after a 503
  });

  it('answers 503 when auth is unreachable or too slow', async () => {
    await expect(createAuthClient('http://127.0.0.1:1').login('u', 'p')).rejects.toThrow(
      new ServiceUnavailableError('the auth service cannot be reached'),
    );
    answer = () => undefined; // never answers
    const started = Date.now();
    await expect(createAuthClient(base, 200).login('u', 'p')).rejects.toThrow(/cannot be reached/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('logs out with the bearer token, and never fails the panel', async () => {
    answer = (res) => res.writeHead(204).end();
    await createAuthClient(base).logout('tok', { ip: '198.51.100.1' });
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { authorization: 'Bearer tok', 'x-forwarded-for': '198.51.100.1' },
    });
    await expect(createAuthClient('http://127.0.0.1:1').logout('tok')).resolves.toBeUndefined();
  });
});
