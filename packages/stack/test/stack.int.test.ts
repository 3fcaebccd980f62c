/**
 * The stack's own contract: a server given by URL is used instead of starting one; a server that
 * dies while starting fails with a clear message and the tail of its log; stop ends the process.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isAlive, spawnServer, StackError, startStack, stopPid, waitFor } from '../src';

describe('startStack', () => {
  it('uses a server given by URL instead of starting one', async () => {
    const stack = await startStack({
      only: ['redis'],
      env: { REDIS_URL: 'redis://10.0.0.1:6380' },
    });
    expect(stack.env).toEqual({ REDIS_URL: 'redis://10.0.0.1:6380' });
    expect(stack.servers).toEqual([]);
    await stack.stop();
  });

  it('rejects unknown server names with the known ones', async () => {
    await expect(startStack({ only: ['oracle'] })).rejects.toThrow(
      /unknown server "oracle"; known: postgres, redis/,
    );
  });
});

describe('process supervision', () => {
  const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'stack-')), 'broken.log');

  it('fails early with the log tail when the process exits before it is ready', async () => {
    const proc = spawnServer({
      name: 'broken',
      command: 'sh',
      args: ['-c', 'echo "FATAL: could not bind 127.0.0.1:1: permission denied"; exit 3'],
      logFile,
    });
    const error = await waitFor('broken', async () => false, {
      process: proc,
      timeoutMs: 10_000,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(StackError);
    expect(error.message).toMatch(/broken exited with code 3 before it was ready/);
    expect(error.message).toContain('FATAL: could not bind 127.0.0.1:1');
    expect(error.message).toContain(logFile);
  });

  it('times out with the log tail, and stopPid ends the whole process group', async () => {
    const proc = spawnServer({
      name: 'slow',
      command: 'sh',
      args: ['-c', 'echo starting; sleep 300 & wait'],
      logFile,
    });
    await expect(
      waitFor('slow', async () => false, { process: proc, timeoutMs: 500 }),
    ).rejects.toThrow(/slow was not ready within 1 s[\s\S]*starting/);
    expect(isAlive(proc.pid)).toBe(true);
    await stopPid(proc.pid, 2000);
    expect(isAlive(proc.pid)).toBe(false);
  });
});
