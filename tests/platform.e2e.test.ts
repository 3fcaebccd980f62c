/**
 * `npm start` end to end: the platform launcher loads the demo catalog and makes the demo admin,
 * starts every built service against the stack (reusing the servers jest's global setup
 * started), waits for the catalog ETL's index, routes the gateway to the services, writes its
 * landing page, prints the URLs; supervises the services (a killed one comes back, `stack
 * status` counts it, `stack restart <name>` restarts one); and on SIGINT stops the services and
 * leaves the servers it did not start running.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { discoverServices } from '@cinema/stack';

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
  // Node flags of a manifest (catalog-api's semi-space size) reach the process: checked below.
  expect(services.some((s) => s.nodeArgs.length > 0)).toBe(true);

  const child = spawn(process.execPath, [cli, 'start-platform'], {
    cwd: root,
    env: { ...process.env, DEMO_DATA: 'true' },
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
      if (Date.now() - started > 240_000) throw new Error(`launcher not ready:\n${err}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await demoData();
    await landingPage();

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
    await supervision();
  }

  /** The demo catalog is loaded and indexed, and the printed demo admin can log in. */
  async function demoData() {
    const indexed = /search index +(\d+) of (\d+) films indexed/.exec(out);
    expect(indexed).not.toBeNull();
    expect(Number(indexed![2])).toBeGreaterThanOrEqual(999);
    expect(indexed![1]).toBe(indexed![2]);
    expect(out).toMatch(/catalog +(loaded from|already equal to) .*movies\.sqlite/);
    const admin = /admin +e-mail (\S+) +password (\S+)/.exec(out);
    if (!admin) throw new Error(`no demo admin printed:\n${out}\n${err}`);
    if (!services.some((s) => s.name === 'auth') || !process.env.GATEWAY_URL) return;
    const login = await fetch(`${process.env.GATEWAY_URL}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: admin![1], password: admin![2] }),
    });
    expect(login.status).toBe(200);
    expect(((await login.json()) as { accessToken?: string }).accessToken).toBeTruthy();
  }

  /** `/` on the gateway links the player (with an indexed film), the admin, each Swagger UI. */
  async function landingPage() {
    const gateway = process.env.GATEWAY_URL;
    if (!gateway) return;
    const res = await fetch(`${gateway}/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<title>Cinema platform</title>');
    const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    const player = hrefs.find((h) => h.startsWith('/player/?film='));
    expect(player).toBeDefined();
    const filmId = decodeURIComponent(player!.split('=')[1]!);
    const film = await fetch(`${process.env.ELASTICSEARCH_URL}/films/_doc/${filmId}`);
    expect(film.status).toBe(200);
    expect(hrefs).toContain('/admin/');
    expect(hrefs).toContain(`${process.env.MAILCATCHER_URL}/`);
    for (const svc of services.filter((s) => fs.existsSync(path.join(s.dir, 'tsoa.json')))) {
      expect(hrefs).toContain(`/docs/${svc.name}/`);
    }
    for (const href of hrefs) {
      const url = href.startsWith('/') ? `${gateway}${href}` : href;
      const page = await fetch(url, { redirect: 'manual' });
      expect([href, page.status < 400]).toEqual([href, true]);
      if (href.startsWith('/docs/')) expect(await page.text()).toContain('swagger-ui');
    }
  }

  /** A killed service comes back; `stack status` counts it; `stack restart` restarts one. */
  async function supervision() {
    const victim = services.find((s) => s.name === 'ugc-api') ?? services[0]!;
    const main = path.join(victim.dir, 'dist', 'main.js');
    const before = processOf(main)!;
    process.kill(before.pid, 'SIGKILL');
    const deadline = Date.now() + 60_000;
    for (;;) {
      const now = processOf(main);
      const healthy = await fetch(`http://127.0.0.1:${victim.port}/healthz`)
        .then((r) => r.ok)
        .catch(() => false);
      if (now && now.pid !== before.pid && healthy) break;
      if (Date.now() > deadline) throw new Error(`${victim.name} did not come back:\n${err}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(err).toMatch(
      new RegExp(
        `\\[supervisor\\] ${victim.name} \\(pid ${before.pid}\\) killed by SIGKILL .*restarting in 1\\.0 s \\(restart 1\\); the rest keeps running`,
      ),
    );
    const stack = (...args: string[]) =>
      execFileSync(process.execPath, [cli, ...args], {
        cwd: root,
        env: process.env,
        encoding: 'utf8',
      });
    expect(stack('status')).toMatch(new RegExp(`^${victim.name} +up +pid \\d+ +restarts 1 `, 'm'));
    const other = services.find((s) => s !== victim)!;
    const otherBefore = processOf(path.join(other.dir, 'dist', 'main.js'))!.pid;
    expect(stack('restart', other.name)).toMatch(
      new RegExp(`^${other.name} restarted \\(pid \\d+, restarts 1\\)`, 'm'),
    );
    expect(processOf(path.join(other.dir, 'dist', 'main.js'))!.pid).not.toBe(otherBefore);
    // A kept-alive connection to the old process may still be in the client's pool: retry.
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      status = await fetch(`http://127.0.0.1:${other.port}/healthz`)
        .then((r) => r.status)
        .catch(() => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(200);
  }
}, 420_000);

/** The running process whose command line names `main` (Linux /proc): its argv and environment. */
function processOf(main: string): { pid: number; argv: string[]; env: string[] } | undefined {
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!argv.includes(main)) continue;
      return {
        pid: Number(pid),
        argv,
        env: fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0'),
      };
    } catch {
      // the process ended while being read
    }
  }
  return undefined;
}
