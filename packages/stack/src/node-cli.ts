/**
 * `stack node ...`: the single-node cluster (node.ts) on the kube-apiserver recorded in this
 * STACK_HOME (start it with `stack up etcd kube-apiserver`).
 *
 *   stack node up       start containerd, kubelet, kube-proxy, scheduler, controller-manager,
 *                       CoreDNS and the relay (detached); returns once the node is Ready
 *   stack node images   import the built service images (npm run images) into containerd
 *   stack node status   the node's processes and the Node's conditions
 *   stack node down     delete its pods, stop everything, remove the bridge and rules
 */
import * as path from 'node:path';
import { isAlive, logDir, StackError } from './core';
import { buildImages, imageServices } from './images';
import { recordedServers } from './index';
import { importServiceImages, loopbackPorts, readNodeState, startNode, stopNode } from './node';

function kubeconfig(): string {
  const api = recordedServers().find((s) => s.name === 'kube-apiserver');
  const file = api?.env.STACK_KUBECONFIG;
  if (!file || (api?.pid !== undefined && !isAlive(api.pid)))
    throw new StackError(
      'node: no kube-apiserver runs in this STACK_HOME; start one with `npm run stack -- up etcd kube-apiserver`',
    );
  return file;
}

export async function nodeCommand(args: string[]): Promise<void> {
  const [verb = 'status'] = args;
  switch (verb) {
    case 'up': {
      const env = Object.assign({}, ...recordedServers().map((s) => s.env)) as Record<
        string,
        string
      >;
      const node = await startNode({ kubeconfig: kubeconfig(), relayPorts: loopbackPorts(env) });
      process.stdout.write(
        `node up: kubectl --kubeconfig ${node.kubeconfig} get nodes; logs in ${path.join(logDir(), '..', 'node', 'logs')}\n`,
      );
      return;
    }
    case 'images': {
      const images = await buildImages({ services: imageServices() });
      const imported = await importServiceImages(images);
      process.stdout.write(
        imported.length ? `imported: ${imported.join(', ')}\n` : 'all images already imported\n',
      );
      return;
    }
    case 'status': {
      const state = readNodeState();
      if (!state) {
        process.stdout.write('no node running\n');
        return;
      }
      for (const [name, pid] of Object.entries(state.pids))
        process.stdout.write(`${name.padEnd(24)} ${isAlive(pid) ? 'up  ' : 'DEAD'} pid ${pid}\n`);
      return;
    }
    case 'down':
      await stopNode();
      return;
    default:
      throw new StackError('usage: stack node up | images | status | down');
  }
}
