/**
 * `npm start` end to end: the platform launcher starts every built service against the stack
 * (reusing the servers jest's global setup started), routes the gateway to them, prints their
 * URLs, and on SIGINT stops the services and leaves the servers it did not start running.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { discoverServices } from '../packages/stack/src/cli';

const root = path.resolve(__dirname, '..');
const cli = path.join(root, 'packages/stack/dist/cli.js');

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

it('starts every built service, routes the gateway, and stops cleanly on SIGINT', async () => {
  const services = discoverServices(root).filter((s) =>
    fs.existsSync(path.join(s.dir, 'dist/main.js')),
  );
  expect(services.length).toBeGreaterThan(0);
  // ugc-etl starts with a small V8 heap and MALLOC_ARENA_MAX (its manifest): checked below.
  expect(services.some((s) => s.nodeArgs.length > 0 && Object.keys(s.env).length > 0)).toBe(true);

  const child = spawn(process.execPath, [cli, 'start-platform'], {
    cwd: root,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));

  try {
    await exercise();
  } finally {
    if (child.exitCode === null) child.kill('SIGINT');
  }
  expect(await exited).toBe(0);
  for (const svc of services) expect(await listening(svc.port)).toBe(false);
  // The servers belong to the test run's global setup: the launcher left them running.
  expect(await listening(Number(new URL(process.env.REDIS_URL!).port))).toBe(true);

  async function exercise() {
    const started = Date.now();
    while (!out.includes('Cinema platform is running')) {
      if (child.exitCode !== null) throw new Error(`launcher exited early:\n${err}`);
      if (Date.now() - started > 90_000) throw new Error(`launcher not ready:\n${err}`);
      await new Promise((r) => setTimeout(r, 250));
    }

    for (const svc of services) {
      expect(out).toContain(`http://127.0.0.1:${svc.port}`);
      const health = await fetch(`http://127.0.0.1:${svc.port}/healthz`);
      expect(health.status).toBe(200);
      // Services with an HTTP API (a tsoa.json) serve their OpenAPI document.
      if (fs.existsSync(path.join(svc.dir, 'tsoa.json'))) {
        const spec = await fetch(`http://127.0.0.1:${svc.port}/openapi.json`);
        expect(spec.status).toBe(200);
        expect(((await spec.json()) as { openapi: string }).openapi).toMatch(/^3\./);
      }
      // The manifest's node flags and environment defaults reach the process.
      const proc = processOf(path.join(svc.dir, 'dist', 'main.js'));
      expect(proc).toBeDefined();
      for (const arg of svc.nodeArgs) expect(proc!.argv).toContain(arg);
      for (const [k, v] of Object.entries(svc.env)) {
        expect(proc!.env).toContain(`${k}=${process.env[k] ?? v}`);
      }
      const metrics = await (await fetch(`http://127.0.0.1:${svc.port}/metrics`)).text();
      expect(metrics).toContain('process_resident_memory_bytes');
      // Through the gateway, on the service's first public path.
      if (process.env.GATEWAY_URL && svc.routes[0]) {
        const viaGateway = await fetch(`${process.env.GATEWAY_URL}${svc.routes[0]}`, {
          headers: { 'X-Request-Id': `gw-${svc.name}` },
        });
        expect(viaGateway.headers.get('x-request-id')).toBe(`gw-${svc.name}`);
        expect(viaGateway.status).toBeLessThan(500);
      }
    }
  }
}, 180_000);

/** The running process whose command line names `main` (Linux /proc): its argv and environment. */
function processOf(main: string): { argv: string[]; env: string[] } | undefined {
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!argv.includes(main)) continue;
      return { argv, env: fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0') };
    } catch {
      // the process ended while being read
    }
  }
  return undefined;
}
