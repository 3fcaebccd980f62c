/**
 * The stack's log shipper against the stack's Elasticsearch, reached through a TCP proxy the test
 * can cut: lines keep being written while Elasticsearch is unreachable for 30 s, and afterwards
 * every line is in Elasticsearch exactly once (counted), in ECS form, with the nginx access log
 * mapped (request id, status, path).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { LogShipper } from '@cinema/stack';
import { freePort, suffix, waitFor } from '@cinema/testing';

jest.setTimeout(240_000);

const es = new URL(process.env.ELASTICSEARCH_URL!);
const id = suffix();
const prefix = `logs-shiptest-${id}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cinema-shipper-'));

/** A TCP proxy to Elasticsearch that can be switched off (connections refused and cut). */
async function proxy() {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const up = () =>
    new Promise<void>((resolve, reject) => {
      if (server?.listening) return resolve();
      server = net.createServer((client) => {
        const upstream = net.connect(Number(es.port), es.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
  const down = async () => {
    const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  };
  await up();
  return { url: `http://127.0.0.1:${port}`, up, down };
}

async function count(query: object): Promise<number> {
  await fetch(`${es.origin}/${prefix}-*/_refresh`, { method: 'POST' });
  const res = await fetch(`${es.origin}/${prefix}-*/_count`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return ((await res.json()) as { count?: number }).count ?? 0;
}

afterAll(async () => {
  // Elasticsearch refuses wildcard deletes: by name.
  const res = await fetch(`${es.origin}/_cat/indices/${prefix}-*?format=json&h=index`);
  const names = ((await res.json()) as Array<{ index: string }>).map((i) => i.index);
  if (names.length) await fetch(`${es.origin}/${names.join(',')}`, { method: 'DELETE' });
  fs.rmSync(dir, { recursive: true, force: true });
});

it('loses no line while Elasticsearch is unreachable for 30 s, and doubles none', async () => {
  const link = await proxy();
  const serviceLog = path.join(dir, 'service-demo.log');
  const accessLog = path.join(dir, 'access.log');
  const shipper = new LogShipper({
    elasticsearchUrl: link.url,
    stateFile: path.join(dir, 'offsets.json'),
    sources: () => [
      { file: serviceLog, service: 'demo', format: 'ecs' },
      { file: accessLog, service: 'gateway', format: 'nginx' },
    ],
    indexPrefix: prefix,
    intervalMs: 200,
  });
  shipper.start();
  let written = 0;
  const write = () => {
    written++;
    fs.appendFileSync(
      serviceLog,
      JSON.stringify({
        '@timestamp': new Date().toISOString(),
        'log.level': 'info',
        message: `line ${written}`,
        'ecs.version': '8.10.0',
        'service.name': 'demo',
        'trace.id': 'a'.repeat(32),
        'http.request.id': `req-${written}`,
        run: id,
      }) + '\n',
    );
  };
  const writer = setInterval(write, 20);
  let during = 0;
  fs.appendFileSync(
    accessLog,
    JSON.stringify({
      time: new Date().toISOString(),
      request_id: `gw-${id}`,
      method: 'GET',
      path: '/api/v1/films',
      query: '',
      status: 200,
      duration: 0.012,
      bytes: 10,
      upstream: '127.0.0.1:8003',
      upstream_status: '200',
      upstream_duration: '0.011',
      remote_addr: '127.0.0.1',
      user_agent: 'test',
    }) + '\n',
  );
  try {
    await waitFor(async () => (await count({ term: { run: id } })) > 20, 30_000, 'first lines');
    await link.down();
    during = written;
    await new Promise((r) => setTimeout(r, 30_000));
    expect(written - during).toBeGreaterThan(500); // the services kept logging meanwhile
    await link.up();
    await new Promise((r) => setTimeout(r, 2_000));
  } finally {
    clearInterval(writer);
    await link.up().catch(() => undefined);
  }
  await waitFor(
    async () => (await count({ term: { run: id } })) === written,
    60_000,
    `all ${written} lines`,
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}: ${await count({ term: { run: id } })} in Elasticsearch`);
  });
  await shipper.stop();
  await link.down();
  console.info(
    `shipper: ${written} lines written, ${written - during} of them during the 30 s outage; all in Elasticsearch once`,
  );
  expect(await count({ term: { run: id } })).toBe(written);
  expect(shipper.stats.failed).toBe(0);
  // The outage was real: rounds failed meanwhile (and were read again afterwards).
  expect(shipper.stats.lastError).toBeDefined();
  // nginx's access line, mapped to ECS.
  expect(await count({ term: { 'http.request.id': `gw-${id}` } })).toBe(1);
  expect(await count({ term: { 'http.response.status_code': 200 } })).toBe(1);
  // The shipper's template: ids and names are keywords (one term each), words are text.
  const mapping = (await (await fetch(`${es.origin}/${prefix}-*/_mapping`)).json()) as Record<
    string,
    { mappings: { properties: Record<string, { type?: string; properties?: object }> } }
  >;
  const [index] = Object.values(mapping);
  const props = index!.mappings.properties as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  expect(props.trace.properties.id.type).toBe('keyword');
  expect(props.trace.properties.id.fields).toBeUndefined();
  expect(props.service.properties.name.type).toBe('keyword');
  expect(props.message.type).toBe('text');
  expect(props.message.fields).toBeUndefined();
  // Words still found by a full-text query.
  expect(await count({ match: { message: 'line 1' } })).toBeGreaterThan(0);
});
