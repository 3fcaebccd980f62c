#!/usr/bin/env node
/**
 * TCP relay of the single-node cluster (node.ts): the stack's servers listen on the host's
 * loopback, which a pod (its own network namespace) cannot reach. For each argument
 * `<listen address>:<port>=<target host>:<port>` it accepts on the node's bridge address and
 * pipes every connection to the target. Started and stopped by node.ts; exits on SIGTERM.
 *
 *   node node-relay.js 10.244.0.1:5432=127.0.0.1:5432 ...
 */
import * as net from 'node:net';

function split(endpoint: string): { host: string; port: number } {
  const at = endpoint.lastIndexOf(':');
  const port = Number(endpoint.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535)
    throw new Error(`not host:port: ${endpoint}`);
  return { host: endpoint.slice(0, at), port };
}

const servers: net.Server[] = [];
for (const arg of process.argv.slice(2)) {
  const [from, to] = arg.split('=');
  if (!from || !to) throw new Error(`not listen=target: ${arg}`);
  const listen = split(from);
  const target = split(to);
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.on('error', (err) => {
    process.stderr.write(`relay ${arg}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(listen.port, listen.host, () => process.stdout.write(`relay ${from} -> ${to}\n`));
  servers.push(server);
}

const stop = () => {
  for (const server of servers) server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
