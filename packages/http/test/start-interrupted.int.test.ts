/**
 * runService on a real process: a SIGTERM that lands while the start is still using a connection
 * the shutdown closes (a pod deleted right after it was created) is a clean stop, exit 0; a start
 * that fails by itself still exits 1.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';

const fixture = path.join(__dirname, 'fixtures/slow-start.js');

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, [fixture], {
    cwd: path.resolve(__dirname, '../../..'),
    env: { PATH: process.env.PATH, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, exited, output: () => out };
}

async function until(check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('SIGTERM during the start: the shutdown runs and the process exits 0', async () => {
  const run = start({});
  await until(() => run.output().includes('setting up the consumers'));
  run.child.kill('SIGTERM');
  expect(await run.exited).toBe(0);
  expect(run.output()).toContain('start interrupted by the shutdown');
  expect(run.output()).not.toContain('failed to start');
});

it('a start that fails by itself still exits 1 and says why', async () => {
  const run = start({ START_FAILS: '1' });
  expect(await run.exited).toBe(1);
  expect(run.output()).toContain('slow-start failed to start: Error: the broker refused the queue');
});
