/**
 * The supervisor on real processes: a killed process comes back (new pid, answering again) with
 * its crash and log tail reported, and counted; its neighbour is left alone; a restart asked for
 * through the control folder (as `stack restart <name>` does) is done at once; a process that
 * keeps crashing is restarted after growing delays.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, waitFor } from '@cinema/testing';
import { isAlive, spawnServer, stopPid } from '../src/core';
import { readSupervisors, requestRestart, Supervisor, type UnitSpec } from '../src/supervisor';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-supervisor-'));
const reports: string[] = [];
let supervisor: Supervisor;

/** A tiny HTTP service on `port` that answers /healthz with its pid. */
function service(name: string, port: number): UnitSpec {
  const logFile = path.join(home, `${name}.log`);
  const script = `require('node:http').createServer((q, s) => s.end(String(process.pid))).listen(${port}, '127.0.0.1', () => console.log('${name} listening on ${port}'))`;
  return {
    name,
    kind: 'service',
    async start() {
      const proc = spawnServer({ name, command: process.execPath, args: ['-e', script], logFile });
      return { pid: proc.pid, logFile, exited: () => proc.exited };
    },
    async ready() {
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
    },
    stop: (proc) => stopPid(proc.pid, 5000),
  };
}

const unit = (name: string) => supervisor.status().find((u) => u.name === name)!;

beforeAll(() => {
  supervisor = new Supervisor({
    home,
    minDelayMs: 200,
    maxDelayMs: 1600,
    pollMs: 100,
    report: (text) => reports.push(text),
  });
});

afterAll(async () => {
  await supervisor.stop(['service']);
  fs.rmSync(home, { recursive: true, force: true });
});

it('restarts a killed service, reports the crash with its log tail, and leaves the other one running', async () => {
  const [portA, portB] = [await freePort(), await freePort()];
  supervisor.add(service('alpha', portA));
  supervisor.add(service('beta', portB));
  await supervisor.waitUp(undefined, 20_000);
  const alphaPid = unit('alpha').pid!;
  const betaPid = unit('beta').pid!;
  expect(await (await fetch(`http://127.0.0.1:${portA}/`)).text()).toBe(String(alphaPid));

  process.kill(alphaPid, 'SIGKILL');
  await waitFor(async () => unit('alpha').state === 'up' && unit('alpha').restarts === 1, 20_000);
  const again = unit('alpha');
  expect(again.pid).not.toBe(alphaPid);
  expect(again.lastExit).toBe('killed by SIGKILL');
  expect(await (await fetch(`http://127.0.0.1:${portA}/`)).text()).toBe(String(again.pid));

  const crash = reports.find((r) => r.includes(`alpha (pid ${alphaPid}) killed by SIGKILL`));
  expect(crash).toMatch(/restarting in 0\.2 s \(restart 1\); the rest keeps running/);
  expect(crash).toContain(`alpha listening on ${portA}`);
  expect(reports.some((r) => r.includes('alpha is up again'))).toBe(true);

  expect(unit('beta')).toMatchObject({ state: 'up', pid: betaPid, restarts: 0 });
  expect(isAlive(betaPid)).toBe(true);

  // What `stack status` reads.
  const [published] = readSupervisors(home);
  expect(published!.pid).toBe(process.pid);
  expect(published!.units.find((u) => u.name === 'alpha')).toMatchObject({
    restarts: 1,
    state: 'up',
  });
});

it('restarts a unit when asked through the control folder', async () => {
  const before = unit('beta').pid!;
  expect(requestRestart('beta', home)).toBe(true);
  expect(requestRestart('nobody', home)).toBe(false);
  await waitFor(async () => unit('beta').state === 'up' && unit('beta').restarts === 1, 20_000);
  expect(unit('beta').pid).not.toBe(before);
  expect(isAlive(before)).toBe(false);
  expect(unit('beta').lastExit).toBe('stopped for a restart');
});

it('restarts a process that keeps crashing after growing delays', async () => {
  const logFile = path.join(home, 'crasher.log');
  supervisor.add({
    name: 'crasher',
    kind: 'service',
    async start() {
      const proc = spawnServer({
        name: 'crasher',
        command: 'sh',
        args: ['-c', 'echo "FATAL: no config"; exit 3'],
        logFile,
      });
      return { pid: proc.pid, logFile, exited: () => proc.exited };
    },
    stop: (proc) => stopPid(proc.pid, 1000),
  });
  await waitFor(async () => unit('crasher').restarts >= 4, 20_000);
  const delays = reports
    .filter((r) => r.startsWith('[supervisor] crasher') && r.includes('restarting in'))
    .map((r) => Number(/restarting in ([\d.]+) s/.exec(r)?.[1]));
  expect(delays.slice(0, 4)).toEqual([0.2, 0.4, 0.8, 1.6]);
  expect(reports.find((r) => r.startsWith('[supervisor] crasher'))).toContain('exited with code 3');
  expect(reports.find((r) => r.startsWith('[supervisor] crasher'))).toContain('FATAL: no config');
}, 30_000);
