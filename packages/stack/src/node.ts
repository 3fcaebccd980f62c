/**
 * A single Kubernetes node on this machine, attached to a kube-apiserver of the stack: containerd
 * and the CNI plugins from Debian, kubelet, kube-proxy, kube-scheduler and kube-controller-manager
 * built from the same k8s.io/kubernetes module as the API server, CoreDNS from its Go module, and
 * a relay that lets pods reach the stack's servers on the host's loopback.
 *
 * What this VM needs (see docs/node.md): kubelet runs on the cgroup v1 hierarchies as they are
 * (`failCgroupV1: false`, cgroupfs driver; nothing remounted), never writes kernel tunables
 * (`protectKernelDefaults: true`), and containerd clamps every container's oom_score_adj to its
 * own (`restrict_oom_score_adj`): without CAP_SYS_RESOURCE, runc cannot lower it to the -998 the
 * kubelet asks for the pod sandbox ("can't get final child's PID from pipe: EOF").
 *
 * One node per machine (fixed bridge, addresses and ports). Its processes are detached and
 * recorded in <STACK_HOME>/node/state.json; stopNode() ends them, deletes the pods first and
 * leaves no bridge, iptables rule, mount or container behind.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  aptInstall,
  cacheDir,
  capture,
  ensureDir,
  isAlive,
  run,
  say,
  sleep,
  spawnServer,
  stackHome,
  StackError,
  stopPid,
  which,
  withLock,
} from './core';
import { kubeTools, KUBERNETES_VERSION } from './kube';
import { ensureNodeBase, ensurePodman, NODE_BASE } from './podman';

export const NODE = {
  name: 'cinema-node',
  bridge: 'cinema-node0',
  podCidr: '10.244.0.0/24',
  /** The bridge's address: the node's InternalIP, where the relay and CoreDNS listen. */
  address: '10.244.0.1',
  clusterDomain: 'cluster.local',
  /** kube-dns' ClusterIP (in the API server's 10.96.0.0/16 service range). */
  dnsIp: '10.96.0.10',
  ports: {
    kubelet: 30250,
    kubeletHealthz: 30248,
    proxyHealthz: 30256,
    proxyMetrics: 30249,
    scheduler: 30259,
    controllerManager: 30257,
    dns: 30053,
    dnsHealth: 30280,
    dnsReady: 30281,
  },
  pauseImage: 'localhost/cinema/pause:3.10',
  curlImage: `localhost/cinema/curl:${NODE_BASE.suite}`,
  nginxImage: `localhost/cinema/nginx:${NODE_BASE.suite}`,
  coredns: 'v1.15.0',
};

const CNI_BIN = '/usr/lib/cni';
const GO_KUBE = path.resolve(__dirname, '..', 'go', 'kube');
const GO_COREDNS = path.resolve(__dirname, '..', 'go', 'coredns');

export interface NodeTools {
  kubelet: string;
  kubeProxy: string;
  kubeScheduler: string;
  kubeControllerManager: string;
  coredns: string;
  kubectl: string;
}

/** Commands the node needs and the Debian packages that bring them. */
const PACKAGES: Array<{ check: string; pkg: string }> = [
  { check: 'containerd', pkg: 'containerd' },
  { check: 'runc', pkg: 'runc' },
  { check: `${CNI_BIN}/bridge`, pkg: 'containernetworking-plugins' },
  { check: 'iptables', pkg: 'iptables' },
  { check: 'gcc', pkg: 'gcc' },
  { check: '/usr/include/stdio.h', pkg: 'libc6-dev' },
];

/** Why this machine cannot run the node, or undefined when it can (apt installs the rest). */
export function nodeUnsupported(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (kubelet, containerd and the bridge need root)';
  if (!fs.existsSync('/sys/fs/cgroup')) return 'no cgroup file system';
  if (!fs.existsSync('/usr/bin/containerd') && !fs.existsSync('/usr/bin/apt-get'))
    return 'neither containerd nor apt-get to install it';
  return undefined;
}

function nodeDir(): string {
  return path.join(stackHome(), 'node');
}

function logFile(name: string): string {
  return path.join(ensureDir(path.join(nodeDir(), 'logs')), `${name}.log`);
}

/** Installs containerd, runc, the CNI plugins, iptables and a C compiler (for pause) if missing. */
export async function ensureNodePackages(): Promise<void> {
  const missing: string[] = [];
  for (const { check, pkg } of PACKAGES) {
    const found = check.startsWith('/') ? fs.existsSync(check) : await which(check);
    if (!found) missing.push(pkg);
  }
  if (missing.length) await aptInstall('node', missing, logFile('apt'));
}

function kubeLdflags(): string {
  const [major, minor] = KUBERNETES_VERSION.replace(/^v/, '').split('.');
  const v = 'k8s.io/component-base/version';
  return [
    '-s',
    '-w',
    `-X ${v}.gitVersion=${KUBERNETES_VERSION}`,
    `-X ${v}.gitMajor=${major}`,
    `-X ${v}.gitMinor=${minor}`,
    `-X ${v}.gitCommit=${KUBERNETES_VERSION}`,
    `-X ${v}.gitTreeState=clean`,
  ].join(' ');
}

function hashFiles(dir: string, files: string[], extra: string): string {
  const hash = crypto.createHash('sha256');
  for (const file of files) hash.update(fs.readFileSync(path.join(dir, file)));
  return hash.update(extra).digest('hex');
}

/**
 * Builds `packages` from the Go module in `source` (copied, since -mod=mod may add to go.sum)
 * into `dir`, once per content hash. Returns the binaries' directory.
 */
async function goBuild(options: {
  name: string;
  source: string;
  files: string[];
  packages: string[];
  binaries: string[];
  ldflags: string;
  dir: string;
}): Promise<string> {
  const stamp = path.join(options.dir, 'source.sha256');
  const hash = hashFiles(options.source, options.files, options.ldflags);
  const built = () =>
    fs.existsSync(stamp) &&
    fs.readFileSync(stamp, 'utf8') === hash &&
    options.binaries.every((b) => fs.existsSync(path.join(options.dir, b)));
  if (built()) return options.dir;
  return withLock(options.name, async () => {
    if (built()) return options.dir;
    if (!(await which('go'))) throw new StackError(`${options.name}: Go is needed to build it`);
    const work = fs.mkdtempSync(path.join(ensureDir(options.dir), 'build-'));
    try {
      for (const file of options.files)
        fs.copyFileSync(path.join(options.source, file), path.join(work, file));
      const out = ensureDir(path.join(work, 'out'));
      const started = Date.now();
      say('node', `building ${options.binaries.join(', ')} (log ${logFile('build')})`);
      await run(
        'nice',
        [
          '-n',
          '10',
          'go',
          'build',
          '-trimpath',
          '-mod=mod',
          '-ldflags',
          options.ldflags,
          '-o',
          `${out}${path.sep}`,
          ...options.packages,
        ],
        { logFile: logFile('build'), cwd: work, what: `go build of ${options.name}` },
      );
      for (const b of options.binaries) fs.renameSync(path.join(out, b), path.join(options.dir, b));
      fs.writeFileSync(stamp, hash);
      say('node', `built in ${Math.round((Date.now() - started) / 1000)} s into ${options.dir}`);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
    return options.dir;
  });
}

/**
 * kubelet, kube-proxy, kube-scheduler and kube-controller-manager from the stack's pinned
 * k8s.io/kubernetes (about a minute each with a warm Go build cache; 20 min and more cold), and
 * CoreDNS with only the plugins a node needs (go/coredns).
 */
export async function nodeTools(): Promise<NodeTools> {
  const kube = await kubeTools();
  const kubeDir = await goBuild({
    name: `kube-node-${KUBERNETES_VERSION}`,
    source: GO_KUBE,
    files: ['go.mod', 'go.sum', 'tools.go'],
    packages: ['kubelet', 'kube-proxy', 'kube-scheduler', 'kube-controller-manager'].map(
      (c) => `k8s.io/kubernetes/cmd/${c}`,
    ),
    binaries: ['kubelet', 'kube-proxy', 'kube-scheduler', 'kube-controller-manager'],
    ldflags: kubeLdflags(),
    dir: path.join(cacheDir(), `kube-node-${KUBERNETES_VERSION}`),
  });
  const dnsDir = await goBuild({
    name: `coredns-${NODE.coredns}`,
    source: GO_COREDNS,
    files: ['go.mod', 'go.sum', 'main.go'],
    packages: ['.'],
    binaries: ['coredns'],
    ldflags: `-s -w -X github.com/coredns/coredns/coremain.GitCommit=${NODE.coredns}`,
    dir: path.join(cacheDir(), `coredns-${NODE.coredns}`),
  });
  return {
    kubelet: path.join(kubeDir, 'kubelet'),
    kubeProxy: path.join(kubeDir, 'kube-proxy'),
    kubeScheduler: path.join(kubeDir, 'kube-scheduler'),
    kubeControllerManager: path.join(kubeDir, 'kube-controller-manager'),
    coredns: path.join(dnsDir, 'coredns'),
    kubectl: kube.kubectl,
  };
}

async function podmanHas(podman: string, image: string): Promise<boolean> {
  return capture(podman, ['image', 'exists', image]).then(
    () => true,
    () => false,
  );
}

/**
 * An image made of one of this (bookworm) host's Debian binaries, its package's files under
 * /usr and the libraries it links, on the stand-in node base (also bookworm). Made once.
 */
async function hostBinaryImage(
  podman: string,
  options: {
    image: string;
    dir: string;
    binary: string;
    packages: string[];
    containerfile: string;
  },
): Promise<void> {
  if (await podmanHas(podman, options.image)) return;
  const missing = [];
  for (const pkg of options.packages)
    if (
      !(await capture('dpkg-query', ['-W', pkg]).then(
        () => true,
        () => false,
      ))
    )
      missing.push(pkg);
  if (missing.length) await aptInstall('node', missing, logFile('apt'));
  const base = await ensureNodeBase();
  const ctx = ensureDir(options.dir);
  const files = (
    await capture('sh', [
      '-c',
      `dpkg -L ${options.packages.join(' ')} | grep -E '^/usr/(bin|sbin|lib/x86_64-linux-gnu)/'; ldd ${options.binary} | awk '/=>/ {print $3}'`,
    ])
  )
    .split('\n')
    .filter((f) => f.startsWith('/') && fs.existsSync(f) && !fs.statSync(f).isDirectory());
  fs.rmSync(path.join(ctx, 'root'), { recursive: true, force: true });
  // Merged /usr on both sides: /lib/... is /usr/lib/... (a real /lib in the context would
  // replace the image's /lib symlink).
  const usr = (file: string) => file.replace(/^\/(lib|lib64|bin|sbin)\//, '/usr/$1/');
  for (const file of new Set(files.map(usr))) {
    const real = usr(fs.realpathSync(file));
    const target = path.join(ctx, 'root', real);
    ensureDir(path.dirname(target));
    if (!fs.existsSync(target)) fs.copyFileSync(real, target);
    const link = path.join(ctx, 'root', file);
    if (real !== file && !fs.existsSync(link)) {
      ensureDir(path.dirname(link));
      fs.symlinkSync(real, link);
    }
  }
  fs.writeFileSync(
    path.join(ctx, 'Containerfile'),
    `FROM ${base.image}\nCOPY root/ /\n${options.containerfile}`,
  );
  await run(
    podman,
    [
      'build',
      '--format',
      'docker',
      '--runtime',
      'runc',
      '--ulimit',
      'nofile=4096:4096',
      '--ulimit',
      'nproc=1024:1024',
      '-t',
      options.image,
      ctx,
    ],
    { logFile: logFile('images'), what: `podman build of ${options.image}` },
  );
}

/**
 * The images the node needs that cannot be pulled here, made in podman: the pod sandbox
 * (Kubernetes' own pause.c, compiled static, FROM scratch), a curl image for the charts'
 * `helm test` pods and an nginx for the gateway (the stand-in node base plus Debian's curl and
 * nginx).
 */
export async function ensureNodeImages(): Promise<{ pause: string; curl: string; nginx: string }> {
  const podman = await ensurePodman();
  const dir = ensureDir(path.join(cacheDir(), 'images', 'node'));
  if (!(await podmanHas(podman, NODE.pauseImage))) {
    const gomodcache = await capture('go', ['env', 'GOMODCACHE']);
    const source = path.join(
      gomodcache,
      `k8s.io/kubernetes@${KUBERNETES_VERSION}`,
      'build/pause/linux/pause.c',
    );
    if (!fs.existsSync(source)) await kubeTools();
    const ctx = ensureDir(path.join(dir, 'pause'));
    await run(
      'gcc',
      ['-Os', '-static', '-DVERSION=v3.10-cinema', '-o', path.join(ctx, 'pause'), source],
      { logFile: logFile('images'), what: 'compiling pause' },
    );
    fs.writeFileSync(
      path.join(ctx, 'Containerfile'),
      'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n',
    );
    await run(podman, ['build', '--format', 'docker', '-t', NODE.pauseImage, ctx], {
      logFile: logFile('images'),
      what: 'podman build of pause',
    });
  }
  await hostBinaryImage(podman, {
    image: NODE.curlImage,
    dir: path.join(dir, 'curl'),
    binary: '/usr/bin/curl',
    packages: ['curl', 'libcurl4'],
    containerfile: 'RUN ["/usr/bin/curl", "--version"]\nUSER 100:101\n',
  });
  // A stand-in for the gateway's nginxinc/nginx-unprivileged (Docker Hub): Debian's nginx 1.22
  // as user 101 on port 8080; the chart mounts its own nginx.conf (temp paths and pid in /tmp).
  await hostBinaryImage(podman, {
    image: NODE.nginxImage,
    dir: path.join(dir, 'nginx'),
    binary: '/usr/sbin/nginx',
    packages: ['nginx'],
    containerfile:
      'RUN ["/usr/sbin/nginx", "-v"]\nRUN groupadd --system --gid 101 nginx && useradd --system --uid 101 --gid 101 --no-create-home --home /nonexistent --shell /bin/false nginx && mkdir -p /etc/nginx /var/cache/nginx /var/log/nginx /var/lib/nginx && chown 101:101 /var/cache/nginx /var/lib/nginx\nEXPOSE 8080\nSTOPSIGNAL SIGQUIT\nUSER 101:101\nCMD ["nginx", "-g", "daemon off;"]\n',
  });
  return { pause: NODE.pauseImage, curl: NODE.curlImage, nginx: NODE.nginxImage };
}

interface NodeState {
  pids: Record<string, number>;
  containerd: string;
  kubeconfig: string;
  startedAt: string;
}

function stateFile(): string {
  return path.join(nodeDir(), 'state.json');
}

export function readNodeState(): NodeState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as NodeState;
  } catch {
    return undefined;
  }
}

function writeNodeState(state: NodeState): void {
  fs.writeFileSync(stateFile(), JSON.stringify(state, null, 2));
}

interface Pki {
  ca: string;
  caKey: string;
  server: string;
}

/** The API server, its CA and CA key, from the admin kubeconfig the stack wrote. */
function pkiOf(kubeconfig: string): Pki {
  const config = JSON.parse(fs.readFileSync(kubeconfig, 'utf8')) as {
    clusters: Array<{ cluster: { server: string; 'certificate-authority': string } }>;
  };
  const cluster = config.clusters[0]!.cluster;
  const ca = cluster['certificate-authority'];
  const caKey = path.join(path.dirname(ca), 'ca.key');
  if (!fs.existsSync(caKey))
    throw new StackError(`node: the API server's CA key is not beside ${ca} (needed to sign)`);
  return { ca, caKey, server: cluster.server };
}

/** A client certificate signed by the API server's CA (the kubelet's: system:node:<name>). */
async function clientCert(pki: Pki, name: string, subject: string): Promise<void> {
  const dir = ensureDir(path.join(nodeDir(), 'pki'));
  const file = (ext: string) => path.join(dir, `${name}.${ext}`);
  if (fs.existsSync(file('crt'))) return;
  const log = logFile('pki');
  const openssl = (args: string[]) => run('openssl', args, { logFile: log, what: 'openssl' });
  await openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    file('key'),
    '-out',
    file('csr'),
    '-subj',
    subject,
  ]);
  fs.writeFileSync(
    file('ext'),
    'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
  );
  await openssl([
    'x509',
    '-req',
    '-in',
    file('csr'),
    '-CA',
    pki.ca,
    '-CAkey',
    pki.caKey,
    '-CAcreateserial',
    '-CAserial',
    path.join(dir, 'ca.srl'),
    '-out',
    file('crt'),
    '-days',
    '365',
    '-extfile',
    file('ext'),
  ]);
}

function kubeconfigFor(pki: Pki, name: string, user: { cert: string; key: string }): string {
  const file = path.join(nodeDir(), `${name}.kubeconfig`);
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'cinema', cluster: { server: pki.server, 'certificate-authority': pki.ca } },
    ],
    users: [{ name, user: { 'client-certificate': user.cert, 'client-key': user.key } }],
    contexts: [{ name: 'cinema', context: { cluster: 'cinema', user: name } }],
    'current-context': 'cinema',
  };
  fs.writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
  return file;
}

function containerdSocket(): string {
  return path.join(nodeDir(), 'containerd', 'containerd.sock');
}

/** containerd's image store: kept in the cache across runs, so imports are done once. */
function containerdRoot(): string {
  return path.join(cacheDir(), 'node-containerd');
}

function writeContainerdConfig(): string {
  const dir = ensureDir(path.join(nodeDir(), 'containerd'));
  const file = path.join(dir, 'config.toml');
  fs.writeFileSync(
    file,
    `# Written by @cinema/stack (node.ts) at each start.
version = 2
root = ${JSON.stringify(ensureDir(containerdRoot()))}
state = ${JSON.stringify(ensureDir(path.join(dir, 'state')))}
[grpc]
  address = ${JSON.stringify(containerdSocket())}
[ttrpc]
  address = ${JSON.stringify(`${containerdSocket()}.ttrpc`)}
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${JSON.stringify(NODE.pauseImage)}
  # No CAP_SYS_RESOURCE here: runc cannot lower oom_score_adj (the sandbox's -998 failed with
  # "can't get final child's PID from pipe: EOF"); clamp it to containerd's own.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${JSON.stringify(CNI_BIN)}
    conf_dir = ${JSON.stringify(ensureDir(path.join(nodeDir(), 'cni')))}
`,
  );
  fs.writeFileSync(
    path.join(nodeDir(), 'cni', '10-cinema-node.conflist'),
    JSON.stringify(
      {
        cniVersion: '0.4.0',
        name: 'cinema-node',
        plugins: [
          {
            type: 'bridge',
            bridge: NODE.bridge,
            isGateway: true,
            ipMasq: true,
            hairpinMode: true,
            ipam: {
              type: 'host-local',
              ranges: [[{ subnet: NODE.podCidr, gateway: NODE.address }]],
              routes: [{ dst: '0.0.0.0/0' }],
              dataDir: ensureDir(path.join(nodeDir(), 'ipam')),
            },
          },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      },
      null,
      2,
    ),
  );
  return file;
}

/** `ctr` against the node's containerd, in the CRI namespace. */
export function ctr(args: string[]): Promise<string> {
  return capture('ctr', ['-a', containerdSocket(), '-n', 'k8s.io', ...args]);
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new StackError(
        `node: ${what} not within ${timeoutMs / 1000} s${last ? `: ${String(last)}` : ''}`,
      );
    await sleep(500);
  }
}

async function podmanImageId(podman: string, image: string): Promise<string> {
  return capture(podman, ['image', 'inspect', '--format', '{{.Id}}', image]);
}

/**
 * Copies images from podman's store into the node's containerd (`podman save | ctr import`),
 * each also tagged as every name in `as` (what the charts ask for, e.g. docker.io/cinema/auth).
 * An image whose podman id was imported before is skipped. Returns what was imported.
 */
export async function importImages(
  images: Array<{ source: string; as?: string[] }>,
): Promise<string[]> {
  const podman = await ensurePodman();
  const record = path.join(containerdRoot(), 'imported.json');
  const done = (() => {
    try {
      return JSON.parse(fs.readFileSync(record, 'utf8')) as Record<string, string>;
    } catch {
      return {} as Record<string, string>;
    }
  })();
  const present = new Set((await ctr(['images', 'ls', '-q'])).split('\n'));
  const todo: Array<{ source: string; id: string; as: string[] }> = [];
  for (const image of images) {
    const id = await podmanImageId(podman, image.source);
    const names = [image.source, ...(image.as ?? [])];
    if (done[image.source] === id && names.every((n) => present.has(n))) continue;
    todo.push({ source: image.source, id, as: image.as ?? [] });
  }
  if (!todo.length) return [];
  const started = Date.now();
  await run(
    'bash',
    [
      '-o',
      'pipefail',
      '-c',
      `"$0" save --format docker-archive -m "$@" | ctr -a ${JSON.stringify(containerdSocket())} -n k8s.io images import -`,
      podman,
      ...todo.map((t) => t.source),
    ],
    { logFile: logFile('images'), what: 'podman save | ctr images import' },
  );
  for (const t of todo) {
    for (const name of t.as) await ctr(['images', 'tag', '--force', t.source, name]);
    done[t.source] = t.id;
  }
  fs.writeFileSync(record, JSON.stringify(done, null, 2));
  say(
    'node',
    `imported ${todo.length} image(s) into containerd in ${Math.round((Date.now() - started) / 1000)} s`,
  );
  return todo.map((t) => t.source);
}

export interface NodeOptions {
  /** Admin kubeconfig of the stack's kube-apiserver (STACK_KUBECONFIG). */
  kubeconfig: string;
  /**
   * Host loopback ports pods must reach: relayed from the node's address, same port number. A
   * selector-less Service with an EndpointSlice on NODE.address:<port> then names them.
   */
  relayPorts?: number[];
}

export interface RunningNode {
  tools: NodeTools;
  kubeconfig: string;
  state: NodeState;
  /** kubectl with the admin kubeconfig; resolves with stdout. */
  kubectl(args: string[], input?: string): Promise<string>;
  stop(): Promise<void>;
}

async function kubectlWith(kubectl: string, kubeconfig: string, args: string[], input?: string) {
  const { spawn } = await import('node:child_process');
  return new Promise<string>((resolve, reject) => {
    const child = spawn(kubectl, ['--kubeconfig', kubeconfig, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`kubectl ${args.join(' ')} exited ${code}: ${err.trim()}`)),
    );
    child.stdin.end(input ?? '');
  });
}

function bridgeExists(): boolean {
  return fs.existsSync(`/sys/class/net/${NODE.bridge}`);
}

/**
 * The relay (run by Node from <STACK_HOME>/node/relay.cjs, so it needs no build): the stack's
 * servers listen on the host's loopback, which a pod (its own network namespace) cannot reach.
 * Each argument `<address>:<port>=<host>:<port>` accepts on the node's bridge address and pipes
 * every connection to the loopback server. Exits on SIGTERM.
 */
export const RELAY_SOURCE = `'use strict';
const net = require('node:net');
const split = (s) => { const i = s.lastIndexOf(':'); return { host: s.slice(0, i), port: Number(s.slice(i + 1)) }; };
const servers = process.argv.slice(2).map((arg) => {
  const [from, to] = arg.split('=').map(split);
  // Half-open both ways: a client that ends its side still gets the whole answer.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ port: to.port, host: to.host, allowHalfOpen: true });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  server.on('error', (err) => { console.error('relay ' + arg + ': ' + err.message); process.exit(1); });
  server.listen(from.port, from.host, () => console.log('relay ' + arg));
  return server;
});
const stop = () => { for (const s of servers) s.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
`;

/** The iptables rule that keeps pods off the kubelet's API (it allows anonymous requests). */
const KUBELET_GUARD = [
  'INPUT',
  '-i',
  NODE.bridge,
  '-p',
  'tcp',
  '--dport',
  String(NODE.ports.kubelet),
  '-m',
  'comment',
  '--comment',
  'cinema-node: pods may not reach the kubelet',
  '-j',
  'DROP',
];

/** Cluster objects the node needs: its RBAC, the `kubernetes` and `kube-dns` Services' endpoints. */
function clusterObjects(apiPort: number): string {
  const slice = (name: string, namespace: string, service: string, ports: object[]) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [NODE.address], conditions: { ready: true } }],
    ports,
  });
  const items = [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'cinema-node' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:nodes' }],
    },
    // The API server runs with --endpoint-reconciler-type=none on loopback: pods reach it
    // through the relay on the node's address.
    slice('kubernetes-node', 'default', 'kubernetes', [
      { name: 'https', port: apiPort, protocol: 'TCP' },
    ]),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        clusterIP: NODE.dnsIp,
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: NODE.ports.dns },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: NODE.ports.dns },
        ],
      },
    },
    slice('kube-dns-node', 'kube-system', 'kube-dns', [
      { name: 'dns', port: NODE.ports.dns, protocol: 'UDP' },
      { name: 'dns-tcp', port: NODE.ports.dns, protocol: 'TCP' },
    ]),
  ];
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

/**
 * Starts the node against the API server of `options.kubeconfig` and waits until it is Ready
 * and CoreDNS answers. A node left by an earlier run (state file, bridge) is stopped first.
 */
export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const why = nodeUnsupported();
  if (why) throw new StackError(`node: cannot run here: ${why}`);
  await ensureNodePackages();
  const tools = await nodeTools();
  await ensureNodeImages();
  if (readNodeState() || bridgeExists()) await stopNode();
  const started = Date.now();
  const dir = ensureDir(nodeDir());
  const pki = pkiOf(options.kubeconfig);
  const apiPort = Number(new URL(pki.server).port);
  const kubectl = (args: string[], input?: string) =>
    kubectlWith(tools.kubectl, options.kubeconfig, args, input);

  const state: NodeState = {
    pids: {},
    containerd: containerdSocket(),
    kubeconfig: options.kubeconfig,
    startedAt: new Date().toISOString(),
  };
  const spawn = (name: string, command: string, args: string[]) => {
    const proc = spawnServer({ name, command, args, logFile: logFile(name) });
    state.pids[name] = proc.pid;
    writeNodeState(state);
    return proc;
  };
  const alive = (name: string) => {
    const pid = state.pids[name];
    if (pid === undefined || !isAlive(pid))
      throw new StackError(`node: ${name} exited`, logFile(name));
  };

  try {
    // The bridge exists before the kubelet starts: its address is the node's InternalIP.
    await run('ip', ['link', 'add', NODE.bridge, 'type', 'bridge'], {
      logFile: logFile('network'),
    });
    await run('ip', ['addr', 'add', `${NODE.address}/24`, 'dev', NODE.bridge], {
      logFile: logFile('network'),
    });
    await run('ip', ['link', 'set', NODE.bridge, 'up'], { logFile: logFile('network') });
    await run('iptables', ['-I', ...KUBELET_GUARD], { logFile: logFile('network') });

    await clientCert(pki, 'kubelet', `/O=system:nodes/CN=system:node:${NODE.name}`);
    const pkiDir = path.join(dir, 'pki');
    const kubeletConfig = kubeconfigFor(pki, 'kubelet', {
      cert: path.join(pkiDir, 'kubelet.crt'),
      key: path.join(pkiDir, 'kubelet.key'),
    });

    const containerd = spawn('containerd', 'containerd', ['--config', writeContainerdConfig()]);
    await waitUntil(
      'containerd',
      async () => {
        alive('containerd');
        await ctr(['version']);
        return true;
      },
      30_000,
    );
    void containerd;
    await importImages([
      { source: NODE.pauseImage },
      // The gateway's helm test pod names curlimages/curl:8.11.1 (Docker Hub) in the chart
      // itself: Debian's curl (7.88) stands in under that name.
      { source: NODE.curlImage, as: ['docker.io/curlimages/curl:8.11.1'] },
      { source: NODE.nginxImage },
    ]);

    // Pods reach the API server and the stack's servers through the relay.
    const relayPorts = [...new Set([apiPort, ...(options.relayPorts ?? [])])];
    const relayScript = path.join(dir, 'relay.cjs');
    fs.writeFileSync(relayScript, RELAY_SOURCE);
    spawn('relay', process.execPath, [
      relayScript,
      ...relayPorts.map((p) => `${NODE.address}:${p}=127.0.0.1:${p}`),
    ]);
    await kubectl(
      ['apply', '--server-side', '--force-conflicts', '-f', '-'],
      clusterObjects(apiPort),
    );

    spawn('kube-controller-manager', tools.kubeControllerManager, [
      `--kubeconfig=${options.kubeconfig}`,
      `--authentication-kubeconfig=${options.kubeconfig}`,
      `--authorization-kubeconfig=${options.kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${NODE.ports.controllerManager}`,
      '--leader-elect=false',
      `--service-account-private-key-file=${path.join(path.dirname(pki.ca), 'sa.key')}`,
      `--root-ca-file=${pki.ca}`,
      '--use-service-account-credentials=true',
      '--controllers=*,-bootstrapsigner,-tokencleaner,-csrsigning',
      '--v=1',
    ]);
    const schedulerConfig = path.join(dir, 'kube-scheduler.yaml');
    fs.writeFileSync(
      schedulerConfig,
      JSON.stringify({
        apiVersion: 'kubescheduler.config.k8s.io/v1',
        kind: 'KubeSchedulerConfiguration',
        clientConnection: { kubeconfig: options.kubeconfig },
        leaderElection: { leaderElect: false },
      }),
    );
    spawn('kube-scheduler', tools.kubeScheduler, [
      `--config=${schedulerConfig}`,
      `--authentication-kubeconfig=${options.kubeconfig}`,
      `--authorization-kubeconfig=${options.kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${NODE.ports.scheduler}`,
      '--v=1',
    ]);
    const proxyConfig = path.join(dir, 'kube-proxy.yaml');
    fs.writeFileSync(
      proxyConfig,
      JSON.stringify({
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        clientConnection: { kubeconfig: options.kubeconfig },
        mode: 'iptables',
        clusterCIDR: NODE.podCidr,
        hostnameOverride: NODE.name,
        bindAddress: '127.0.0.1',
        healthzBindAddress: `127.0.0.1:${NODE.ports.proxyHealthz}`,
        metricsBindAddress: `127.0.0.1:${NODE.ports.proxyMetrics}`,
        nodePortAddresses: [`${NODE.address}/32`],
        // Zero: kube-proxy leaves the conntrack sysctls as they are.
        conntrack: {
          maxPerCore: 0,
          min: 0,
          tcpEstablishedTimeout: '0s',
          tcpCloseWaitTimeout: '0s',
          udpTimeout: '0s',
          udpStreamTimeout: '0s',
        },
        // No route_localnet sysctl: NodePorts are not served on 127.0.0.1.
        iptables: { localhostNodePorts: false },
      }),
    );
    spawn('kube-proxy', tools.kubeProxy, [`--config=${proxyConfig}`, '--v=1']);
    const corefile = path.join(dir, 'Corefile');
    fs.writeFileSync(
      corefile,
      `.:${NODE.ports.dns} {
    bind ${NODE.address}
    errors
    health 127.0.0.1:${NODE.ports.dnsHealth}
    ready 127.0.0.1:${NODE.ports.dnsReady}
    kubernetes ${NODE.clusterDomain} in-addr.arpa ip6.arpa {
        kubeconfig ${options.kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
}
`,
    );
    spawn('coredns', tools.coredns, ['-conf', corefile]);

    const kubeletYaml = path.join(dir, 'kubelet.yaml');
    fs.writeFileSync(
      kubeletYaml,
      JSON.stringify(
        {
          apiVersion: 'kubelet.config.k8s.io/v1beta1',
          kind: 'KubeletConfiguration',
          // The VM mounts cgroup v1 (v2 beside it): used as it is, never remounted.
          failCgroupV1: false,
          cgroupDriver: 'cgroupfs',
          failSwapOn: false,
          // Never write kernel tunables (vm.overcommit_memory, kernel.panic, ...): fail instead.
          protectKernelDefaults: true,
          containerRuntimeEndpoint: `unix://${containerdSocket()}`,
          address: NODE.address,
          port: NODE.ports.kubelet,
          readOnlyPort: 0,
          healthzBindAddress: '127.0.0.1',
          healthzPort: NODE.ports.kubeletHealthz,
          // The stack's API server has no kubelet client certificate: logs/exec come anonymous,
          // from the host only (KUBELET_GUARD drops the pods' packets to this port).
          authentication: {
            anonymous: { enabled: true },
            webhook: { enabled: false },
            x509: { clientCAFile: pki.ca },
          },
          authorization: { mode: 'AlwaysAllow' },
          clusterDNS: [NODE.dnsIp],
          clusterDomain: NODE.clusterDomain,
          podCIDR: NODE.podCidr,
          podLogsDir: ensureDir(path.join(dir, 'pod-logs')),
          maxPods: 40,
          // The imported images cannot be pulled again: never collect them.
          imageGCHighThresholdPercent: 100,
          imageGCLowThresholdPercent: 99,
          evictionHard: { 'memory.available': '100Mi' },
          serializeImagePulls: true,
        },
        null,
        2,
      ),
    );
    spawn('kubelet', tools.kubelet, [
      `--config=${kubeletYaml}`,
      `--kubeconfig=${kubeletConfig}`,
      `--root-dir=${ensureDir(path.join(dir, 'kubelet'))}`,
      `--cert-dir=${ensureDir(path.join(pkiDir, 'kubelet-serving'))}`,
      `--hostname-override=${NODE.name}`,
      `--node-ip=${NODE.address}`,
      '--v=1',
    ]);

    await waitUntil(
      `node ${NODE.name} Ready`,
      async () => {
        for (const name of Object.keys(state.pids)) alive(name);
        const ready = await kubectl([
          'get',
          'node',
          NODE.name,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]);
        return ready.trim() === 'True';
      },
      120_000,
    );
    await waitUntil(
      'CoreDNS ready',
      async () => (await fetch(`http://127.0.0.1:${NODE.ports.dnsReady}/ready`)).ok,
      60_000,
    );
    await waitUntil(
      'the default ServiceAccount',
      async () => (await kubectl(['get', 'serviceaccount', 'default', '-o', 'name'])).length > 0,
      60_000,
    );
    say('node', `${NODE.name} Ready in ${Math.round((Date.now() - started) / 1000)} s`);
  } catch (err) {
    await stopNode().catch(() => undefined);
    throw err;
  }
  return {
    tools,
    kubeconfig: options.kubeconfig,
    state,
    kubectl,
    stop: () => stopNode(),
  };
}

async function quiet(what: () => Promise<unknown>): Promise<void> {
  try {
    await what();
  } catch {
    /* best effort while cleaning up */
  }
}

/**
 * The kubelet's own iptables chains (KUBE-FIREWALL, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT) and
 * whatever kube-proxy --cleanup left, in iptables and ip6tables: the jumps to them from the
 * built-in chains first, then the chains. Only this node's kubelet and kube-proxy make KUBE-*.
 */
async function removeKubeChains(): Promise<void> {
  for (const command of ['iptables', 'ip6tables']) {
    if (!(await which(command))) continue;
    for (const table of ['filter', 'nat', 'mangle']) {
      const rules = (await capture(command, ['-t', table, '-S']).catch(() => '')).split('\n');
      for (const rule of rules.filter(
        (r) => /^-A [A-Z]+ .*-j KUBE-/.test(r) && !/^-A KUBE-/.test(r),
      ))
        // iptables -S prints each rule shell-quoted (comments hold spaces): sh splits it back.
        await quiet(() =>
          capture('sh', ['-c', `${command} -t ${table} ${rule.replace(/^-A/, '-D')}`]),
        );
      const chains = rules.filter((r) => r.startsWith('-N KUBE-')).map((r) => r.slice(3).trim());
      for (const chain of chains) await quiet(() => capture(command, ['-t', table, '-F', chain]));
      for (const chain of chains) await quiet(() => capture(command, ['-t', table, '-X', chain]));
    }
  }
}

/**
 * What pods left when the kubelet could not tear them down (the API server gone first, a kill):
 * containerd's network namespaces (`cni-*`; podman's are `netns-*`) with no process left in
 * them, and the bridge plugin's masquerade rules and chains for the `cinema-node` network.
 */
async function removeCniLeftovers(): Promise<void> {
  const netns = '/var/run/netns';
  const names = fs.existsSync(netns)
    ? fs.readdirSync(netns).filter((n) => n.startsWith('cni-'))
    : [];
  for (const name of names) {
    const pids = await capture('ip', ['netns', 'pids', name]).catch(() => 'unknown');
    if (!pids.trim()) await quiet(() => capture('ip', ['netns', 'delete', name]));
  }
  const rules = (await capture('iptables', ['-t', 'nat', '-S']).catch(() => '')).split('\n');
  const ours = rules.filter(
    (r) => r.startsWith('-A POSTROUTING') && r.includes('name: \\"cinema-node\\"'),
  );
  for (const rule of ours) {
    await quiet(() => capture('sh', ['-c', `iptables -t nat ${rule.replace(/^-A/, '-D')}`]));
    const chain = / -j (CNI-[0-9a-f]+)/.exec(rule)?.[1];
    if (chain) {
      await quiet(() => capture('iptables', ['-t', 'nat', '-F', chain]));
      await quiet(() => capture('iptables', ['-t', 'nat', '-X', chain]));
    }
  }
}

/**
 * Stops the node recorded in <STACK_HOME>/node/state.json: controllers first (nothing is
 * recreated), then every pod deleted through the kubelet (CNI teardown, unmounts), leftover
 * containers killed in containerd, the processes ended, kube-proxy's iptables chains removed,
 * the bridge and the kubelet guard rule deleted, stray mounts under the node's directory undone.
 */
export async function stopNode(): Promise<void> {
  const state = readNodeState();
  const dir = nodeDir();
  const pids = state?.pids ?? {};
  const stopOne = async (name: string) => {
    const pid = pids[name];
    if (pid !== undefined) await stopPid(pid, 20_000);
  };
  await stopOne('kube-controller-manager');
  await stopOne('kube-scheduler');
  if (state && pids.kubelet !== undefined && isAlive(pids.kubelet)) {
    const tools = await nodeTools();
    const kubectl = (args: string[]) => kubectlWith(tools.kubectl, state.kubeconfig, args);
    const deleted = await kubectl([
      'delete',
      'pods',
      '--all-namespaces',
      '--all',
      `--field-selector=spec.nodeName=${NODE.name}`,
      '--grace-period=10',
      '--wait=false',
    ]).then(
      () => true,
      () => false,
    );
    // The kubelet stops the containers and tears down the sandboxes (CNI DEL, unmounts). With
    // the API server gone it cannot learn of the deletion: the forced path below cleans up.
    const deadline = Date.now() + (deleted ? 60_000 : 0);
    while (Date.now() < deadline) {
      const tasks = await ctr(['tasks', 'ls', '-q']).catch(() => '');
      if (!tasks.trim()) break;
      await sleep(1000);
    }
    await quiet(() => kubectl(['delete', 'node', NODE.name, '--wait=false']));
  }
  await stopOne('kubelet');
  if (pids.containerd !== undefined && isAlive(pids.containerd)) {
    const tasks = (await ctr(['tasks', 'ls', '-q']).catch(() => '')).split('\n').filter(Boolean);
    for (const id of tasks) {
      await quiet(() => ctr(['tasks', 'kill', '-s', 'SIGKILL', id]));
      await quiet(() => ctr(['tasks', 'delete', '--force', id]));
    }
    const containers = (await ctr(['containers', 'ls', '-q']).catch(() => ''))
      .split('\n')
      .filter(Boolean);
    for (const id of containers) await quiet(() => ctr(['containers', 'delete', id]));
  }
  await stopOne('coredns');
  await stopOne('relay');
  await stopOne('containerd');
  if (pids['kube-proxy'] !== undefined) {
    await stopOne('kube-proxy');
    const tools = await nodeTools();
    await quiet(() =>
      run(tools.kubeProxy, ['--cleanup', '--v=0'], { logFile: logFile('kube-proxy') }),
    );
  }
  await removeKubeChains();
  await removeCniLeftovers();
  while (
    await capture('iptables', ['-C', ...KUBELET_GUARD]).then(
      () => true,
      () => false,
    )
  )
    await quiet(() => capture('iptables', ['-D', ...KUBELET_GUARD]));
  // Mounts the kubelet or containerd left (a killed pod's volumes, overlay roots).
  const mounts = fs
    .readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(`${dir}/`) || m.startsWith(`${containerdRoot()}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await quiet(() => capture('umount', ['-l', m]));
  if (bridgeExists()) await quiet(() => capture('ip', ['link', 'delete', NODE.bridge]));
  fs.rmSync(stateFile(), { force: true });
  fs.rmSync(path.join(dir, 'ipam'), { recursive: true, force: true });
}

/**
 * The service images (`npm run images`, podman's `localhost/cinema/<service>:<tag>`) into the
 * node, also under the name the charts' `cinema/<service>:<tag>` resolves to in containerd
 * (`docker.io/cinema/...`), so the charts run unchanged with imagePullPolicy IfNotPresent.
 */
export function importServiceImages(images: Array<{ image: string }>): Promise<string[]> {
  return importImages(
    images.map(({ image }) => ({
      source: image,
      as: [image.replace(/^localhost\//, 'docker.io/')],
    })),
  );
}

/** Ports of the loopback servers named in `env` (URLs and host:port lists of the stack's env). */
export function loopbackPorts(env: Record<string, string | undefined>): number[] {
  const ports = new Set<number>();
  for (const value of Object.values(env)) {
    for (const match of (value ?? '').matchAll(/(?:127\.0\.0\.1|localhost):(\d{2,5})/g))
      ports.add(Number(match[1]));
  }
  return [...ports].sort((a, b) => a - b);
}
