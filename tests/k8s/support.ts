/**
 * Helpers of the Kubernetes delivery tests: the repository's services and charts, helm and
 * kubectl from the stack (built from their Go modules), and the operators' CRDs taken from their
 * released artifacts at the versions pinned in k8s/operators.json.
 */
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { cacheDir, ensureDir, say, withLock } from '@cinema/stack';

const execFileAsync = promisify(execFile);

export const ROOT = path.resolve(__dirname, '..', '..');
export const CHARTS = path.join(ROOT, 'charts');
export const K8S = path.join(ROOT, 'k8s');

/** Folders of services/ with a package.json: the services that exist right now. */
export function serviceNames(): string[] {
  const dir = path.join(ROOT, 'services');
  return fs
    .readdirSync(dir)
    .filter((name) => fs.existsSync(path.join(dir, name, 'package.json')))
    .sort();
}

export function servicePackage(name: string): {
  cinema: { port: number; routes?: string[] };
} {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'services', name, 'package.json'), 'utf8'));
}

/** Application charts (every folder of charts/ with a Chart.yaml, library included). */
export function chartNames(): string[] {
  return fs
    .readdirSync(CHARTS)
    .filter((name) => fs.existsSync(path.join(CHARTS, name, 'Chart.yaml')))
    .sort();
}

/** The chart's ci/*-values.yaml files (full-values.yaml switches every optional part on; a chart
 * may add others for modes that exclude each other), sorted. */
export function ciValuesFiles(chart: string): string[] {
  const dir = path.join(CHARTS, chart, 'ci');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('-values.yaml'))
    .sort()
    .map((f) => path.join(dir, f));
}

export async function exec(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): Promise<{ stdout: string; stderr: string }> {
  try {
    const child = execFileAsync(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd ?? ROOT,
      maxBuffer: 256 * 1024 * 1024,
    });
    if (options.input !== undefined) {
      child.child.stdin?.end(options.input);
    }
    return await child;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `${path.basename(command)} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`.slice(
        0,
        20_000,
      ),
    );
  }
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  [key: string]: unknown;
}

/** Every non-empty document of a multi-document YAML stream. */
export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length) throw new Error(doc.errors.map((e) => e.message).join('; '));
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => !!o && typeof o === 'object');
}

/** Containers of a workload (Deployment, StatefulSet, DaemonSet, CronJob, Job, Pod). */
export function podSpecOf(obj: K8sObject): Record<string, unknown> | undefined {
  const spec = obj.spec as Record<string, any> | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (!spec) return undefined;
  if (obj.kind === 'Pod') return spec;
  if (obj.kind === 'CronJob') return spec.jobTemplate?.spec?.template?.spec;
  return spec.template?.spec;
}

/** Every image referenced by the containers of the given objects. */
export function imagesOf(objects: K8sObject[]): string[] {
  const images = new Set<string>();
  for (const obj of objects) {
    const pod = podSpecOf(obj) as { containers?: Array<{ image: string }> } | undefined;
    for (const c of pod?.containers ?? []) images.add(c.image);
  }
  return [...images].sort();
}

// ---------------------------------------------------------------------------------------------
// Operators' CRDs at the pinned versions.

interface GoCrds {
  module: string;
  version: string;
  files: string[];
}
interface MavenCrds {
  model: string;
  generator: string;
  runs: Array<{ apiVersions: string; storageVersion: string; classes: Record<string, string> }>;
}
export interface OperatorPin {
  name: string;
  version: string;
  purpose: string;
  crds: { go?: GoCrds; maven?: MavenCrds; unavailable?: string };
}

export function operatorPins(): OperatorPin[] {
  return (
    JSON.parse(fs.readFileSync(path.join(K8S, 'operators.json'), 'utf8')) as {
      operators: OperatorPin[];
    }
  ).operators;
}

/** Directory of a Go module at a version, downloaded through the Go module proxy (cached by go). */
export async function goModuleDir(module: string, version: string): Promise<string> {
  const tmp = fs.mkdtempSync(path.join(ensureDir(cacheDir()), 'gomod-'));
  try {
    const { stdout } = await exec('go', ['mod', 'download', '-json', `${module}@${version}`], {
      cwd: tmp,
      env: { ...process.env, GOFLAGS: '-mod=mod' },
    });
    const info = JSON.parse(stdout) as { Dir?: string; Error?: string };
    if (!info.Dir) throw new Error(`go mod download ${module}@${version}: ${info.Error ?? stdout}`);
    return info.Dir;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function goCrds(spec: GoCrds, dir: string): Promise<void> {
  const moduleDir = await goModuleDir(spec.module, spec.version);
  for (const file of spec.files) {
    fs.copyFileSync(path.join(moduleDir, file), path.join(dir, path.basename(file)));
  }
}

/** A Java runtime of at least `major` (Strimzi's generator is built for Java 21). */
async function javaOf(major: number): Promise<string> {
  const candidates = [
    process.env.JAVA_HOME && path.join(process.env.JAVA_HOME, 'bin', 'java'),
    'java',
    ...(fs.existsSync('/usr/lib/jvm')
      ? fs.readdirSync('/usr/lib/jvm').map((d) => path.join('/usr/lib/jvm', d, 'bin', 'java'))
      : []),
  ].filter((c): c is string => !!c);
  for (const java of candidates) {
    try {
      const { stderr, stdout } = await exec(java, ['-version']);
      const m = /version "(\d+)/.exec(`${stderr}${stdout}`);
      if (m && Number(m[1]) >= major) return java;
    } catch {
      /* not this one */
    }
  }
  throw new Error(
    `Strimzi's CRD generator needs Java ${major}+; none found (JAVA_HOME, PATH, /usr/lib/jvm)`,
  );
}

async function mavenCrds(name: string, spec: MavenCrds, dir: string): Promise<void> {
  const [mg, ma, mv] = spec.model.split(':');
  const [gg, ga, gv] = spec.generator.split(':');
  const work = ensureDir(path.join(dir, 'maven'));
  fs.writeFileSync(
    path.join(work, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>cinema.platform</groupId><artifactId>${name}-crds</artifactId><version>1</version>
<dependencies>
<dependency><groupId>${mg}</groupId><artifactId>${ma}</artifactId><version>${mv}</version></dependency>
<dependency><groupId>${gg}</groupId><artifactId>${ga}</artifactId><version>${gv}</version></dependency>
</dependencies></project>
`,
  );
  await exec('mvn', ['-q', '-B', 'dependency:copy-dependencies', '-DoutputDirectory=lib'], {
    cwd: work,
  });
  const java = await javaOf(21);
  for (const runSpec of spec.runs) {
    // The arguments of the CrdGenerator execution in Strimzi's own api/pom.xml.
    await exec(
      java,
      [
        '-cp',
        path.join(work, 'lib', '*'),
        'io.strimzi.crdgenerator.CrdGenerator',
        '--label',
        'app:strimzi',
        '--label',
        'strimzi.io/crd-install:true',
        '--target-kube',
        '1.16+',
        '--crd-api-version',
        'v1',
        '--api-versions',
        runSpec.apiVersions,
        '--storage-version',
        runSpec.storageVersion,
        '--yaml',
        ...Object.entries(runSpec.classes).map(([cls, file]) => `${cls}=${path.join(dir, file)}`),
      ],
      { cwd: work },
    );
  }
  fs.rmSync(work, { recursive: true, force: true });
}

/**
 * The CRD files of every operator that publishes them in an artifact this machine can reach,
 * fetched once into the cache. Returns file paths per operator (empty for an unavailable one).
 */
export async function operatorCrds(): Promise<Record<string, string[]>> {
  const result: Record<string, string[]> = {};
  for (const pin of operatorPins()) {
    if (pin.crds.unavailable) {
      result[pin.name] = [];
      continue;
    }
    const hash = crypto.createHash('sha256').update(JSON.stringify(pin.crds)).digest('hex');
    const dir = path.join(cacheDir(), 'crds', `${pin.name}-${pin.version}`);
    const stamp = path.join(dir, 'source.sha256');
    const done = () => fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === hash;
    if (!done()) {
      await withLock(`crds-${pin.name}`, async () => {
        if (done()) return;
        fs.rmSync(dir, { recursive: true, force: true });
        ensureDir(dir);
        say('crds', `fetching ${pin.name} ${pin.version} CRDs`);
        if (pin.crds.go) await goCrds(pin.crds.go, dir);
        if (pin.crds.maven) await mavenCrds(pin.name, pin.crds.maven, dir);
        fs.writeFileSync(stamp, hash);
      });
    }
    result[pin.name] = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => path.join(dir, f));
  }
  return result;
}
