/**
 * The node's relay (RELAY_SOURCE in src/node.ts) as the node runs it: a Node process from a
 * written file, piping each connection from its listen address to a loopback server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { RELAY_SOURCE } from '../src/node';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function exchange(port: number, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(message));
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('node relay', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-relay-'));
  const script = path.join(dir, 'relay.cjs');
  let relay: ChildProcess | undefined;
  let upstream: net.Server | undefined;

  beforeAll(() => fs.writeFileSync(script, RELAY_SOURCE));
  afterEach(() => {
    relay?.kill('SIGTERM');
    upstream?.close();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function start(args: string[]): Promise<{ out: string; code: number | null }> {
    return new Promise((resolve) => {
      relay = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      relay.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > args.length) resolve({ out, code: null });
      });
      relay.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      relay.on('exit', (code) => resolve({ out, code }));
    });
  }

  it('pipes both ways to the target, for every connection, and ends on SIGTERM with 0', async () => {
    const target = await freePort();
    upstream = net.createServer((s) => s.on('data', (d) => s.end(`echo:${d.toString()}`)));
    await new Promise<void>((r) => upstream!.listen(target, '127.0.0.1', r));
    const listen = await freePort();
    const started = await start([`127.0.0.1:${listen}=127.0.0.1:${target}`]);
    expect(started.code).toBeNull();
    expect(started.out).toContain(`relay 127.0.0.1:${listen}=127.0.0.1:${target}`);
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) => exchange(listen, `hello ${i}`)),
    );
    expect(answers).toEqual(Array.from({ length: 5 }, (_, i) => `echo:hello ${i}`));
    const exited = new Promise<number | null>((r) => relay!.on('exit', (code) => r(code)));
    relay!.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('drops the client when the target is down, and keeps serving', async () => {
    const target = await freePort();
    const listen = await freePort();
    await start([`127.0.0.1:${listen}=127.0.0.1:${target}`]);
    expect(await exchange(listen, 'nobody there')).toBe('');
    upstream = net.createServer((s) => s.on('data', () => s.end('up now')));
    await new Promise<void>((r) => upstream!.listen(target, '127.0.0.1', r));
    expect(await exchange(listen, 'again')).toBe('up now');
  });

  it('exits 1 naming the argument when it cannot listen (port taken)', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const result = await start([`127.0.0.1:${port}=127.0.0.1:1`]);
      expect(result.code).toBe(1);
      expect(result.out).toMatch(/EADDRINUSE/);
      expect(result.out).toContain(`relay 127.0.0.1:${port}=127.0.0.1:1`);
    } finally {
      taken.close();
    }
  });
});
