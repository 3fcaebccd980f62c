import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { kubeTools } from '../kube';
import {
  dataDir,
  ensureDir,
  logDir,
  pickPort,
  run,
  spawnServer,
  StackError,
  waitFor,
  which,
  type RunningServer,
  type ServerDefinition,
} from '../core';

/**
 * kube-apiserver built from k8s.io/kubernetes (see kube.ts) on the stack's etcd: a real API
 * server (admission, CRD validation, RBAC, server-side apply and dry runs), without nodes or
 * controllers. Enough to install charts and CRDs, run `kubectl apply --dry-run=server` and test
 * an operator. Clients authenticate with a client certificate in group system:masters; the
 * kubeconfig is in STACK_KUBECONFIG. Optional: started only when named.
 */

function pki(): string {
  return ensureDir(path.join(dataDir('kube-apiserver'), 'pki'));
}

export function kubeconfigFile(): string {
  return path.join(dataDir('kube-apiserver'), 'kubeconfig');
}

/** CA, serving certificate, admin client certificate and service-account key pair (once). */
async function ensurePki(logFile: string): Promise<void> {
  const dir = pki();
  const file = (name: string) => path.join(dir, name);
  if (['ca.crt', 'apiserver.crt', 'admin.crt', 'sa.key'].every((f) => fs.existsSync(file(f))))
    return;
  if (!(await which('openssl'))) {
    throw new StackError('kube-apiserver: openssl is needed to make its certificates');
  }
  const openssl = (args: string[]) =>
    run('openssl', args, { logFile, cwd: dir, what: `openssl ${args[0]}` });
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '3650',
    '-subj',
    '/CN=cinema-stack-kube-ca',
  ]);
  const sign = async (name: string, subject: string, ext: string) => {
    fs.writeFileSync(file(`${name}.ext`), ext);
    await openssl([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subject,
    ]);
    await openssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '3650',
      '-extfile',
      `${name}.ext`,
    ]);
  };
  await sign(
    'apiserver',
    '/CN=kube-apiserver',
    'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes.default.svc\n' +
      'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n',
  );
  await sign(
    'admin',
    '/O=system:masters/CN=cinema-stack-admin',
    'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
  );
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  fs.writeFileSync(file('sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  fs.writeFileSync(file('sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
}

function writeKubeconfig(server: string): string {
  const dir = pki();
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'cinema-stack',
        cluster: { server, 'certificate-authority': path.join(dir, 'ca.crt') },
      },
    ],
    users: [
      {
        name: 'cinema-stack-admin',
        user: {
          'client-certificate': path.join(dir, 'admin.crt'),
          'client-key': path.join(dir, 'admin.key'),
        },
      },
    ],
    contexts: [
      { name: 'cinema-stack', context: { cluster: 'cinema-stack', user: 'cinema-stack-admin' } },
    ],
    'current-context': 'cinema-stack',
  };
  // JSON is YAML: kubectl, helm and @kubernetes/client-node read it as a kubeconfig.
  fs.writeFileSync(kubeconfigFile(), JSON.stringify(config, null, 2), { mode: 0o600 });
  return kubeconfigFile();
}

/** GET on the API server with the admin client certificate. */
export function kubeGet(
  server: string,
  urlPath: string,
): Promise<{ status: number; body: string }> {
  const dir = pki();
  return new Promise((resolve, reject) => {
    const req = https.get(
      `${server}${urlPath}`,
      {
        ca: fs.readFileSync(path.join(dir, 'ca.crt')),
        cert: fs.readFileSync(path.join(dir, 'admin.crt')),
        key: fs.readFileSync(path.join(dir, 'admin.key')),
        timeout: 3000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function serverOf(kubeconfig: string): string {
  const config = JSON.parse(fs.readFileSync(kubeconfig, 'utf8')) as {
    clusters: Array<{ cluster: { server: string } }>;
  };
  return config.clusters[0]!.cluster.server;
}

export const kubeApiserver: ServerDefinition = {
  name: 'kube-apiserver',
  envKey: 'STACK_KUBECONFIG',
  needs: ['etcd'],
  optional: true,
  async start(env) {
    const logFile = path.join(logDir(), 'kube-apiserver.log');
    const etcdUrl = env.ETCD_URL;
    if (!etcdUrl) throw new StackError('kube-apiserver: ETCD_URL missing (etcd not started)');
    const tools = await kubeTools();
    await ensurePki(logFile);
    const dir = pki();
    const port = await pickPort(Number(process.env.STACK_KUBE_APISERVER_PORT ?? 26443));
    const server = `https://127.0.0.1:${port}`;
    const proc = spawnServer({
      name: 'kube-apiserver',
      command: tools.kubeApiserver,
      args: [
        `--etcd-servers=${etcdUrl}`,
        '--etcd-prefix=/cinema-stack',
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        // No nodes, no kubernetes-service endpoints (and loopback may not be advertised otherwise).
        '--endpoint-reconciler-type=none',
        `--secure-port=${port}`,
        `--tls-cert-file=${path.join(dir, 'apiserver.crt')}`,
        `--tls-private-key-file=${path.join(dir, 'apiserver.key')}`,
        `--client-ca-file=${path.join(dir, 'ca.crt')}`,
        `--service-account-key-file=${path.join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        '--service-cluster-ip-range=10.96.0.0/16',
        '--authorization-mode=RBAC',
        // The stack's node (node.ts) registers by an address, not a name the host resolves.
        '--kubelet-preferred-address-types=InternalIP,Hostname',
        '--allow-privileged=true',
        '--profiling=false',
        '--v=1',
      ],
      logFile,
    });
    let version = '';
    await waitFor(
      'kube-apiserver',
      async () => {
        const ready = await kubeGet(server, '/readyz');
        if (ready.status !== 200) return false;
        version = (JSON.parse((await kubeGet(server, '/version')).body) as { gitVersion: string })
          .gitVersion;
        return true;
      },
      { process: proc, timeoutMs: 120_000, intervalMs: 500 },
    );
    return {
      name: 'kube-apiserver',
      version: `kube-apiserver ${version}`,
      env: { STACK_KUBECONFIG: writeKubeconfig(server) },
      pid: proc.pid,
      logFile,
    };
  },
  async probe(server: RunningServer) {
    const ready = await kubeGet(serverOf(server.env.STACK_KUBECONFIG!), '/readyz');
    return ready.status === 200;
  },
};
