import * as path from 'node:path';
import {
  aptInstall,
  capture,
  dataDir,
  logDir,
  pickPort,
  spawnServer,
  waitFor,
  which,
  type ServerDefinition,
} from '../core';

/**
 * Redis from Debian's `redis-server` package, no persistence, on loopback. Never evicts
 * (`noeviction`, no memory limit): auth's lockouts and rate limits live here with the catalog
 * cache, whose entries all expire. In a cluster auth has a noeviction Redis of its own.
 */
export const redis: ServerDefinition = {
  name: 'redis',
  envKey: 'REDIS_URL',
  async start() {
    const logFile = path.join(logDir(), 'redis.log');
    if (!(await which('redis-server'))) await aptInstall('redis', ['redis-server'], logFile);
    const port = await pickPort(Number(process.env.STACK_REDIS_PORT ?? 26379));
    const proc = spawnServer({
      name: 'redis',
      command: 'redis-server',
      args: [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dataDir('redis'),
        '--save',
        '',
        '--appendonly',
        'no',
        '--maxmemory-policy',
        'noeviction',
        '--daemonize',
        'no',
      ],
      logFile,
    });
    await waitFor(
      'redis',
      async () => (await capture('redis-cli', ['-p', String(port), 'ping'])) === 'PONG',
      { process: proc, timeoutMs: 30_000 },
    );
    const version = (await capture('redis-server', ['--version'])).split(' ')[2] ?? 'unknown';
    return {
      name: 'redis',
      version: `Redis ${version.replace(/^v=/, '')}`,
      env: { REDIS_URL: `redis://127.0.0.1:${port}` },
      pid: proc.pid,
      logFile,
    };
  },
  async probe(server) {
    const port = new URL(server.env.REDIS_URL!).port;
    return (await capture('redis-cli', ['-p', port, 'ping'])) === 'PONG';
  },
};
