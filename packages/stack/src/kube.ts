/**
 * The Kubernetes tools of the local stack: etcd, kube-apiserver, kubectl and helm, built once
 * from their published Go modules (the wrapper module in `go/kube` pins them) into the cache,
 * with the version variables set the way their release builds set them, so that
 * `kube-apiserver`'s `/version`, `kubectl version` and `helm version` tell the truth.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir, ensureDir, logDir, run, say, StackError, which, withLock } from './core';

export const KUBERNETES_VERSION = 'v1.37.2';
export const ETCD_VERSION = 'v3.7.0';
export const HELM_VERSION = 'v3.22.0';
/** Release dates of the pinned versions (the Go module proxy's times), used as buildDate. */
const KUBERNETES_BUILD_DATE = '2026-10-27T12:01:04Z';

/** The wrapper module: go.mod with replace lines to the published k8s.io/* versions. */
const SOURCE_DIR = path.resolve(__dirname, '..', 'go', 'kube');

export interface KubeTools {
  etcd: string;
  kubeApiserver: string;
  kubectl: string;
  helm: string;
  versions: { kubernetes: string; etcd: string; helm: string };
}

function ldflags(): string {
  const [major, minor] = KUBERNETES_VERSION.replace(/^v/, '').split('.');
  const kube = (pkg: string) => [
    `-X ${pkg}.gitVersion=${KUBERNETES_VERSION}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitCommit=${KUBERNETES_VERSION}`,
    `-X ${pkg}.gitTreeState=clean`,
    `-X ${pkg}.buildDate=${KUBERNETES_BUILD_DATE}`,
  ];
  return [
    '-s',
    '-w',
    ...kube('k8s.io/component-base/version'),
    ...kube('k8s.io/client-go/pkg/version'),
    `-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}`,
    `-X helm.sh/helm/v3/internal/version.gitCommit=${HELM_VERSION}`,
    '-X helm.sh/helm/v3/internal/version.gitTreeState=clean',
    `-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=${major}`,
    `-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${minor}`,
    `-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=${major}`,
    `-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${minor}`,
    `-X go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD_VERSION}`,
  ].join(' ');
}

/** Packages built and the binary name each gets. */
const TARGETS: Array<{ pkg: string; built: string; name: keyof Omit<KubeTools, 'versions'> }> = [
  { pkg: 'go.etcd.io/etcd/server/v3', built: 'server', name: 'etcd' },
  { pkg: 'k8s.io/kubernetes/cmd/kube-apiserver', built: 'kube-apiserver', name: 'kubeApiserver' },
  { pkg: 'k8s.io/kubernetes/cmd/kubectl', built: 'kubectl', name: 'kubectl' },
  { pkg: 'helm.sh/helm/v3/cmd/helm', built: 'helm', name: 'helm' },
];
const FILE_NAMES: Record<keyof Omit<KubeTools, 'versions'>, string> = {
  etcd: 'etcd',
  kubeApiserver: 'kube-apiserver',
  kubectl: 'kubectl',
  helm: 'helm',
};

function sourceHash(): string {
  const hash = crypto.createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'tools.go'])
    hash.update(fs.readFileSync(path.join(SOURCE_DIR, file)));
  hash.update(ldflags());
  return hash.digest('hex');
}

/**
 * Paths of the four binaries, building them on first use (about 15 CPU-minutes on a cold 2-core
 * machine, most of it kube-apiserver; seconds once cached). Needs Go.
 */
export async function kubeTools(): Promise<KubeTools> {
  const dir = path.join(cacheDir(), `kube-${KUBERNETES_VERSION}`);
  const bin = path.join(dir, 'bin');
  const stamp = path.join(dir, 'source.sha256');
  const hash = sourceHash();
  const tools = Object.fromEntries(
    TARGETS.map((t) => [t.name, path.join(bin, FILE_NAMES[t.name])]),
  ) as Omit<KubeTools, 'versions'>;
  const result: KubeTools = {
    ...tools,
    versions: { kubernetes: KUBERNETES_VERSION, etcd: ETCD_VERSION, helm: HELM_VERSION },
  };
  const built = () =>
    fs.existsSync(stamp) &&
    fs.readFileSync(stamp, 'utf8') === hash &&
    Object.values(tools).every((file) => fs.existsSync(file));
  if (built()) return result;
  return withLock(`kube-${KUBERNETES_VERSION}`, async () => {
    if (built()) return result;
    if (!(await which('go'))) {
      throw new StackError(
        'kube tools: etcd, kube-apiserver, kubectl and helm are built from their Go modules and need Go (https://go.dev/dl)',
      );
    }
    const logFile = path.join(logDir(), 'kube-build.log');
    const out = ensureDir(path.join(dir, `build-${process.pid}`));
    const started = Date.now();
    say(
      'kube',
      `building etcd ${ETCD_VERSION}, kube-apiserver and kubectl ${KUBERNETES_VERSION}, helm ${HELM_VERSION} with go (first run only, 10-35 min on 2 cores depending on load; log ${logFile})`,
    );
    const ticker = setInterval(
      () => say('kube', `still building (${Math.round((Date.now() - started) / 1000)} s)`),
      60_000,
    );
    try {
      await run(
        'go',
        [
          'build',
          '-trimpath',
          '-ldflags',
          ldflags(),
          '-o',
          `${out}${path.sep}`,
          ...TARGETS.map((t) => t.pkg),
        ],
        {
          logFile,
          cwd: SOURCE_DIR,
          env: {
            ...process.env,
            GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=mod`.trim(),
          },
          what: 'go build of etcd, kube-apiserver, kubectl and helm',
        },
      );
    } finally {
      clearInterval(ticker);
    }
    ensureDir(bin);
    for (const t of TARGETS) fs.renameSync(path.join(out, t.built), tools[t.name]);
    fs.rmSync(out, { recursive: true, force: true });
    fs.writeFileSync(stamp, hash);
    say('kube', `built in ${Math.round((Date.now() - started) / 1000)} s into ${bin}`);
    return result;
  });
}
