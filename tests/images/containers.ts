/**
 * Runs a service image under podman the way its chart's pod would run: the rendered env,
 * command and args, user and group, read-only root (writable only where the chart mounts an
 * emptyDir), all capabilities dropped, no privilege escalation, and the cluster's Service names
 * reaching the local stack's servers.
 *
 * Networking: each service container joins the network namespace of a small forwarder
 * container (slirp4netns with allow_host_loopback, so 10.0.2.2 is the host's loopback, where the
 * stack's servers listen). Every Service name in the env gets its own 127.0.0.x in the
 * container's /etc/hosts, and the forwarder listens there on the chart's port and relays to the
 * stack server's port. Kafka's advertised 127.0.0.1:<port> is relayed too. The service's port is
 * published on the host's loopback for the probes and requests.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { capture, ensurePodman, podmanRunFlags } from '@cinema/stack';
import { suffix } from '@cinema/testing';
import { exec } from '../k8s/support';
import { quantityBytes, type Probe, type RenderedContainer } from './support';

export const HOST_LOOPBACK = '10.0.2.2';

export interface Route {
  /** host:port as the chart names it (a cluster Service). */
  service: string;
  /** Port on the host's loopback where the stack (or another container) answers. */
  hostPort: number;
}

export interface Running {
  name: string;
  forwarder: string;
  url: string;
  dir: string;
  logs(): Promise<string>;
}

/** Every host:port a resolved env points at (URLs and comma-separated broker lists). */
export function endpointsOf(env: Record<string, string>): string[] {
  const found = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    for (const m of value.matchAll(
      /[a-z][a-z0-9+.-]*:\/\/(?:[^@/\s]*@)?([A-Za-z0-9.-]+)(?::(\d+))?/g,
    )) {
      const scheme = m[0].split(':')[0]!;
      const port = m[2] ?? (scheme === 'https' ? '443' : scheme === 'http' ? '80' : '');
      if (port) found.add(`${m[1]}:${port}`);
    }
    if (/BROKERS$/.test(name))
      for (const broker of value.split(','))
        if (/^[A-Za-z0-9.-]+:\d+$/.test(broker.trim())) found.add(broker.trim());
  }
  return [...found].sort();
}

async function podman(args: string[]): Promise<string> {
  return capture(await ensurePodman(), args);
}

/**
 * Starts `image` as `container` renders it with `env`; `routes` map every endpoint the env
 * names to a host port. Resolves once the container is started (not yet ready).
 */
export async function startContainer(options: {
  image: string;
  container: RenderedContainer;
  env: Record<string, string>;
  routes: Route[];
  entrypoint?: string[];
  args?: string[];
  detach?: boolean;
  /** Read-only bind mounts (host folder -> container path), as the kubelet mounts projected volumes. */
  mounts?: Array<{ source: string; target: string }>;
}): Promise<Running> {
  const { container, env, routes } = options;
  const flags = await podmanRunFlags();
  const id = `${container.service}-${suffix()}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cinema-image-${id}-`));
  const hosts = ['127.0.0.1 localhost', '::1 localhost'];
  const forward: Array<{ listen: string; port: number; target: string; targetPort: number }> = [];
  const names = new Map<string, string>();
  for (const route of routes) {
    const [host, port] = route.service.split(':') as [string, string];
    let address = host === '127.0.0.1' ? host : names.get(host);
    if (!address) {
      address = `127.0.0.${names.size + 2}`;
      names.set(host, address);
      hosts.push(`${address} ${host}`);
    }
    forward.push({
      listen: address,
      port: Number(port),
      target: HOST_LOOPBACK,
      targetPort: route.hostPort,
    });
  }
  fs.writeFileSync(path.join(dir, 'hosts'), `${hosts.join('\n')}\n`);
  fs.copyFileSync(path.join(__dirname, 'forwarder.cjs'), path.join(dir, 'forwarder.cjs'));
  fs.chmodSync(dir, 0o755);

  const forwarder = `cinema-fwd-${id}`;
  await podman([
    'run',
    '-d',
    '--name',
    forwarder,
    ...flags,
    '--network',
    'slirp4netns:allow_host_loopback=true',
    '--publish',
    `127.0.0.1::${container.port}`,
    '-v',
    `${dir}/forwarder.cjs:/forwarder.cjs:ro`,
    '--entrypoint',
    '["node", "/forwarder.cjs"]',
    '--user',
    '0:0',
    options.image,
    JSON.stringify(forward),
  ]);
  const published = await podman(['port', forwarder, `${container.port}/tcp`]);
  const hostPort = Number(published.split('\n')[0]!.split(':').pop());

  const name = `cinema-img-${id}`;
  const args = [
    options.detach === false ? 'create' : 'run',
    ...(options.detach === false ? [] : ['-d']),
    '--name',
    name,
    ...flags,
    '--network',
    `container:${forwarder}`,
    '-v',
    `${dir}/hosts:/etc/hosts:ro`,
  ];
  if (container.runAsUser !== undefined)
    args.push('--user', `${container.runAsUser}:${container.runAsGroup ?? container.runAsUser}`);
  if (container.readOnlyRootFilesystem) args.push('--read-only', '--read-only-tmpfs=false');
  for (const writable of container.writablePaths) {
    const size = tmpfsSize(container.writableSizeLimits[writable]);
    args.push('--tmpfs', `${writable}:rw,mode=1777,size=${size}`);
  }
  for (const cap of container.dropCapabilities) args.push('--cap-drop', cap);
  for (const cap of container.addCapabilities) args.push('--cap-add', cap);
  if (!container.allowPrivilegeEscalation) args.push('--security-opt', 'no-new-privileges');
  // The chart's memory limit, without swap (as the kubelet sets it): a chart whose limit is too
  // small for its service gets its container OOM-killed here too.
  if (container.memoryLimit) {
    const bytes = String(quantityBytes(container.memoryLimit));
    args.push('--memory', bytes, '--memory-swap', bytes);
  }
  for (const mount of options.mounts ?? []) args.push('-v', `${mount.source}:${mount.target}:ro`);
  for (const [key, value] of Object.entries(env)) args.push('--env', `${key}=${value}`);
  if (options.entrypoint) args.push('--entrypoint', JSON.stringify(options.entrypoint));
  args.push(options.image, ...(options.args ?? []));
  await podman(args);
  return {
    name,
    forwarder,
    url: `http://127.0.0.1:${hostPort}`,
    dir,
    logs: () => podman(['logs', name]).catch((err: Error) => err.message),
  };
}

/** An emptyDir's sizeLimit as tmpfs' size option; 64m when the chart sets none. */
export function tmpfsSize(limit: string | undefined): string {
  return limit ? `${Math.ceil(quantityBytes(limit) / 1024)}k` : '64m';
}

/** Runs `command` in the running container (as `kubectl exec` would), `input` on its stdin. */
export async function execIn(
  running: Running,
  command: string[],
  input?: string,
): Promise<{ stdout: string; stderr: string }> {
  // stdin is closed after `input` (none: at once), so a command reading it does not wait.
  return exec(await ensurePodman(), ['exec', '-i', running.name, ...command], {
    input: input ?? '',
  });
}

/** Removes the containers and the temporary folder. */
export async function removeContainer(running: Running): Promise<void> {
  await podman(['rm', '-f', '-t', '0', running.name]).catch(() => undefined);
  await podman(['rm', '-f', '-t', '0', running.forwarder]).catch(() => undefined);
  fs.rmSync(running.dir, { recursive: true, force: true });
}

/**
 * Polls `probe` as the kubelet would, within the startup probe's budget (period x failures)
 * plus the readiness probe's; resolves with the seconds it took, rejects with the last answer.
 */
export async function waitReady(running: Running, container: RenderedContainer): Promise<number> {
  const startup = container.startupProbe;
  const ready = container.readinessProbe;
  if (!ready) throw new Error(`${container.service}: the chart has no readiness probe`);
  const budget = (p?: Probe) =>
    p ? (p.initialDelaySeconds + p.periodSeconds * p.failureThreshold) * 1000 : 0;
  const deadline = Date.now() + budget(startup) + budget(ready);
  const started = Date.now();
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${running.url}${ready.path}`, {
        signal: AbortSignal.timeout(ready.timeoutSeconds * 1000),
      });
      if (res.ok) return (Date.now() - started) / 1000;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    const state = await podman(['inspect', '--format', '{{.State.Status}}', running.name]);
    if (state !== 'running') {
      const oom = await podman(['inspect', '--format', '{{.State.OOMKilled}}', running.name]);
      if (oom === 'true')
        last = `OOM-killed: over its chart's memory limit ${container.memoryLimit}`;
      break;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(
    `${container.service}: ${ready.path} not ready: ${last}\n--- logs ---\n${(await running.logs()).slice(-6000)}`,
  );
}

/** SIGTERM as the kubelet sends it; resolves with the exit code and the seconds it took. */
export async function terminate(
  running: Running,
  graceSeconds: number,
): Promise<{ code: number; seconds: number }> {
  const started = Date.now();
  // podman stop sends the image's StopSignal (SIGTERM), then SIGKILL after the grace period.
  await podman(['stop', '-t', String(graceSeconds), running.name]);
  const seconds = (Date.now() - started) / 1000;
  const code = Number(await podman(['inspect', '--format', '{{.State.ExitCode}}', running.name]));
  return { code, seconds };
}

/** Waits for a run-to-completion container (a Job's pod) and returns its exit code. */
export async function waitExit(running: Running, timeoutSeconds: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutSeconds * 1000) {
    const state = await podman([
      'inspect',
      '--format',
      '{{.State.Status}} {{.State.ExitCode}}',
      running.name,
    ]);
    const [status, code] = state.split(' ');
    if (status === 'exited' || status === 'stopped') return Number(code);
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(
    `${running.name} still running after ${timeoutSeconds} s\n${await running.logs()}`,
  );
}
