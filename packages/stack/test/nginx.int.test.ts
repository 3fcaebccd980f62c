import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gatewayAccessLog, writeGatewayRoutes } from '../src/servers/nginx';

describe('nginx gateway (local stack)', () => {
  const gateway = process.env.GATEWAY_URL!;
  let upstream: http.Server;
  let seen: http.IncomingHttpHeaders | undefined;

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      seen = req.headers;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ from: 'upstream', url: req.url }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await writeGatewayRoutes([]);
    await new Promise((resolve) => upstream.close(resolve));
  });

  it('answers /healthz with 200', async () => {
    const res = await fetch(`${gateway}/healthz`);
    expect(res.status).toBe(200);
    expect((await res.text()).trim()).toBe('ok');
  });

  it('proxies a route written by writeGatewayRoutes and logs it as JSON', async () => {
    const port = (upstream.address() as AddressInfo).port;
    await writeGatewayRoutes([{ prefix: '/api/test-echo', upstream: `http://127.0.0.1:${port}` }]);
    const requestId = `req-${process.pid}-${Date.now()}`;
    const res = await fetch(`${gateway}/api/test-echo/films?id=7`, {
      headers: { 'x-request-id': requestId },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ from: 'upstream', url: '/api/test-echo/films?id=7' });
    expect(res.headers.get('x-request-id')).toBe(requestId);
    expect(seen?.['x-request-id']).toBe(requestId);
    expect(seen?.['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen?.['x-forwarded-proto']).toBe('http');

    // A sibling path must not be routed by the prefix.
    const other = await fetch(`${gateway}/api/test-echoes`);
    expect(other.status).toBe(404);

    let line: Record<string, unknown> | undefined;
    for (let i = 0; i < 40 && !line; i++) {
      const lines = fs.readFileSync(gatewayAccessLog(), 'utf8').split('\n').filter(Boolean);
      const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      line = parsed.find((entry) => entry.request_id === requestId);
      if (!line) await new Promise((r) => setTimeout(r, 100));
    }
    expect(line).toMatchObject({
      method: 'GET',
      path: '/api/test-echo/films',
      status: 200,
      upstream: `127.0.0.1:${port}`,
    });
    expect(typeof line!.duration).toBe('number');
    expect(typeof line!.time).toBe('string');
  });
});
