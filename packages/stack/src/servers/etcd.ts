import * as path from 'node:path';
import { kubeTools } from '../kube';
import {
  dataDir,
  logDir,
  pickPort,
  spawnServer,
  waitFor,
  type RunningServer,
  type ServerDefinition,
} from '../core';

async function etcdVersion(url: string): Promise<string> {
  const health = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
  const body = (await health.json()) as { health?: string };
  if (body.health !== 'true') throw new Error(`etcd not healthy: ${JSON.stringify(body)}`);
  const version = await fetch(`${url}/version`, { signal: AbortSignal.timeout(2000) });
  return ((await version.json()) as { etcdserver: string }).etcdserver;
}

/**
 * etcd, built from its Go module (see kube.ts), one member on loopback: the store of the stack's
 * kube-apiserver. Optional: started only when named (`only`, STACK_SERVERS, `stack up etcd`).
 */
export const etcd: ServerDefinition = {
  name: 'etcd',
  envKey: 'ETCD_URL',
  optional: true,
  async start() {
    const logFile = path.join(logDir(), 'etcd.log');
    const tools = await kubeTools();
    const port = await pickPort(Number(process.env.STACK_ETCD_PORT ?? 22379));
    const peerPort = await pickPort(port + 1);
    const url = `http://127.0.0.1:${port}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const proc = spawnServer({
      name: 'etcd',
      command: tools.etcd,
      args: [
        '--name=stack',
        `--data-dir=${dataDir('etcd')}`,
        `--listen-client-urls=${url}`,
        `--advertise-client-urls=${url}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=stack=${peer}`,
        // A throw-away development store: no fsync, small WAL, compaction keeps it small.
        '--unsafe-no-fsync',
        '--auto-compaction-retention=1h',
        '--quota-backend-bytes=2147483648',
        '--log-level=warn',
      ],
      logFile,
    });
    let version = '';
    await waitFor(
      'etcd',
      async () => {
        version = await etcdVersion(url);
        return true;
      },
      { process: proc, timeoutMs: 60_000 },
    );
    return {
      name: 'etcd',
      version: `etcd ${version}`,
      env: { ETCD_URL: url },
      pid: proc.pid,
      logFile,
    };
  },
  async probe(server: RunningServer) {
    await etcdVersion(server.env.ETCD_URL!);
    return true;
  },
};
