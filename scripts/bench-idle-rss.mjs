#!/usr/bin/env node
/**
 * Idle memory of every built service: starts the stack (or reuses a running one), starts each
 * service as `npm start` does, waits until it is healthy and has idled for IDLE_SECONDS, then
 * prints its resident set size. Target: under 150 MB per service at idle.
 *
 *   npm run build && node scripts/bench-idle-rss.mjs
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const { startStack } = require(join(root, 'packages/stack/dist/index.js'));
const { discoverServices } = require(join(root, 'packages/stack/dist/cli.js'));
const idleSeconds = Number(process.env.IDLE_SECONDS ?? 10);
const limitMb = 150;

const rssMb = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

const stack = await startStack();
const services = discoverServices(root).filter((s) => existsSync(join(s.dir, 'dist/main.js')));
const urls = Object.fromEntries(
  services.map((s) => [
    `${s.name.toUpperCase().replace(/-/g, '_')}_URL`,
    `http://127.0.0.1:${s.port}`,
  ]),
);
const rows = [];
for (const svc of services) {
  const child = spawn(
    process.execPath,
    // As `npm start` runs it: the manifest's node flags and environment defaults.
    [...svc.nodeArgs, '--require', require.resolve('@cinema/telemetry/register'), 'dist/main.js'],
    {
      cwd: svc.dir,
      env: {
        ...svc.env,
        ...process.env,
        ...stack.env,
        ...urls,
        PORT: String(svc.port),
        LOG_LEVEL: 'warn',
        OTEL_SERVICE_NAME: svc.name,
      },
      stdio: 'ignore',
    },
  );
  const started = Date.now();
  let healthy = false;
  while (!healthy && Date.now() - started < 60_000 && child.exitCode === null) {
    healthy = await fetch(`http://127.0.0.1:${svc.port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (!healthy) await new Promise((r) => setTimeout(r, 250));
  }
  if (!healthy) {
    rows.push({ service: svc.name, rss: NaN, note: 'did not become healthy' });
    child.kill('SIGKILL');
    continue;
  }
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const rss = rssMb(child.pid);
  rows.push({ service: svc.name, rss, note: rss < limitMb ? 'ok' : `over ${limitMb} MB` });
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}
await stack.stop();

console.log(`\nIdle RSS after ${idleSeconds} s (target < ${limitMb} MB)`);
for (const r of rows)
  console.log(
    `  ${r.service.padEnd(16)} ${Number.isNaN(r.rss) ? '   -  ' : r.rss.toFixed(1).padStart(6)} MB  ${r.note}`,
  );
process.exitCode = rows.every((r) => r.rss < limitMb) ? 0 : 1;
