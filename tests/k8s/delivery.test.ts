/**
 * Static checks of the delivery files (no binaries, no servers): the images skaffold.yaml and
 * the Tiltfile build are exactly the ones the charts reference, one per service in services/*;
 * every service has a chart; the Dockerfile is multi-stage, non-root, telemetry preloaded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { CHARTS, ROOT, serviceNames } from './support';

interface SkaffoldArtifact {
  image: string;
  context?: string;
  docker?: { dockerfile?: string; target?: string; buildArgs?: Record<string, string> };
}

function skaffold(): {
  apiVersion: string;
  build: { artifacts: SkaffoldArtifact[] };
  deploy: {
    helm: { releases: Array<{ chartPath: string; setValueTemplates: Record<string, string> }> };
  };
  profiles: Array<{ name: string }>;
} {
  return parse(fs.readFileSync(path.join(ROOT, 'skaffold.yaml'), 'utf8'));
}

/** Images the Tiltfile builds: 'cinema/' + each name of its SERVICES list. */
function tiltImages(): string[] {
  const text = fs.readFileSync(path.join(ROOT, 'tilt', 'Tiltfile'), 'utf8');
  const list = /^SERVICES = \[([^\]]*)\]/m.exec(text);
  if (!list) throw new Error('Tiltfile has no SERVICES = [...] list');
  const names = [...list[1]!.matchAll(/'([a-z0-9-]+)'/g)].map((m) => m[1]!);
  expect(text).toMatch(/docker_build_with_restart\(\s*'cinema\/' \+ name/);
  return names.map((n) => `cinema/${n}`).sort();
}

/** image.repository of every service chart's values.yaml (the images the charts run). */
function chartImages(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const dir of fs.readdirSync(CHARTS)) {
    const values = path.join(CHARTS, dir, 'values.yaml');
    const chart = path.join(CHARTS, dir, 'Chart.yaml');
    if (!fs.existsSync(values) || !fs.existsSync(chart)) continue;
    const meta = parse(fs.readFileSync(chart, 'utf8')) as { type?: string };
    const repo = (parse(fs.readFileSync(values, 'utf8')) as { image?: { repository?: string } })
      ?.image?.repository;
    if (meta.type !== 'library' && repo) out[dir] = repo;
  }
  return out;
}

describe('images: skaffold, Tilt and the charts agree with services/*', () => {
  const services = serviceNames();
  const expected = services.map((s) => `cinema/${s}`).sort();

  it('has a chart per service and no chart for a service that does not exist', () => {
    const charts = chartImages();
    expect(Object.keys(charts).sort()).toEqual(services);
    for (const [chart, image] of Object.entries(charts)) expect(image).toBe(`cinema/${chart}`);
  });

  it('skaffold builds exactly the chart images, each with its SERVICE build arg', () => {
    const config = skaffold();
    expect(config.apiVersion).toBe('skaffold/v4beta13');
    const artifacts = config.build.artifacts;
    expect(artifacts.map((a) => a.image).sort()).toEqual(Object.values(chartImages()).sort());
    expect(artifacts.map((a) => a.image).sort()).toEqual(expected);
    for (const a of artifacts) {
      expect(a.docker?.buildArgs?.SERVICE).toBe(a.image.replace(/^cinema\//, ''));
      expect(a.docker?.dockerfile).toBe('Dockerfile');
    }
  });

  it('skaffold hands every built image to its subchart of the umbrella chart', () => {
    const release = skaffold().deploy.helm.releases[0]!;
    expect(release.chartPath).toBe('charts/cinema');
    for (const svc of services) {
      const key = `cinema_${svc.replace(/-/g, '_')}`;
      expect(release.setValueTemplates[`${svc}.image.repository`]).toBe(`{{.IMAGE_REPO_${key}}}`);
      expect(release.setValueTemplates[`${svc}.image.tag`]).toBe(`{{.IMAGE_TAG_${key}}}`);
    }
    expect(Object.keys(release.setValueTemplates)).toHaveLength(services.length * 2);
    expect(
      skaffold()
        .profiles.map((p) => p.name)
        .sort(),
    ).toEqual(['ci', 'dev']);
  });

  it('the Tiltfile builds exactly the chart images', () => {
    expect(tiltImages()).toEqual(Object.values(chartImages()).sort());
    expect(tiltImages()).toEqual(expected);
  });

  it('the umbrella chart depends on every service chart behind <service>.enabled', () => {
    const umbrella = parse(fs.readFileSync(path.join(CHARTS, 'cinema', 'Chart.yaml'), 'utf8')) as {
      dependencies: Array<{ name: string; condition?: string; repository: string }>;
    };
    const subcharts = umbrella.dependencies.filter((d) => d.name !== 'cinema-common');
    expect(subcharts.map((d) => d.name).sort()).toEqual(services);
    for (const d of subcharts) {
      expect(d.condition).toBe(`${d.name}.enabled`);
      expect(d.repository).toBe(`file://../${d.name}`);
    }
  });
});

describe('Dockerfile', () => {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  // Instructions with their continuation lines joined.
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Array<{ name: string; from: string; lines: string[] }> = [];
  for (const line of instructions) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ from: from[1]!, name: from[2] ?? '', lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  const final = stages.at(-1)!;

  it('is multi-stage, the last stage being the slim runtime', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(final.name).toBe('runtime');
    expect(instructions).toContain('ARG NODE_IMAGE=node:20-bookworm-slim');
    expect(final.from).toBe('${NODE_IMAGE}');
    // The runtime copies built output from earlier stages and never installs or compiles.
    expect(final.lines.some((l) => /^COPY --from=/.test(l))).toBe(true);
    expect(final.lines.some((l) => /^RUN .*(npm (ci|install)|tsc)/.test(l))).toBe(false);
  });

  it('runs as a numeric non-root user in the runtime and dev stages', () => {
    for (const stage of stages.filter((s) => ['runtime', 'dev'].includes(s.name))) {
      const users = stage.lines.filter((l) => l.startsWith('USER '));
      expect(users.length).toBe(1);
      const [uid] = users[0]!.slice(5).trim().split(':');
      expect(Number(uid)).toBeGreaterThan(0);
    }
  });

  it('loads telemetry before the service: entrypoint preloads @cinema/telemetry/register', () => {
    const entry = final.lines.find((l) => l.startsWith('ENTRYPOINT '))!;
    const argv = JSON.parse(entry.slice('ENTRYPOINT '.length)) as string[];
    expect(argv[0]).toBe('node');
    expect(argv.indexOf('--require')).toBeGreaterThan(0);
    expect(argv[argv.indexOf('--require') + 1]).toBe('@cinema/telemetry/register');
    const cmd = JSON.parse(final.lines.find((l) => l.startsWith('CMD '))!.slice(4)) as string[];
    expect(cmd).toEqual(['dist/main.js']);
    // Every service's own start script runs the same thing.
    for (const svc of serviceNames()) {
      const pkg = JSON.parse(
        fs.readFileSync(path.join(ROOT, 'services', svc, 'package.json'), 'utf8'),
      ) as { scripts?: { start?: string } };
      expect(pkg.scripts?.start).toContain('--require @cinema/telemetry/register dist/main.js');
    }
  });

  it('builds one service chosen by the SERVICE build argument', () => {
    const compiling = stages.find((s) =>
      s.lines.some((l) => l.includes('npx tsc -b "services/${SERVICE}"')),
    );
    expect(compiling?.lines).toContain('ARG SERVICE');
    // The first stage knows no service: its layers (manifests, dependencies) serve all nine.
    expect(stages[0]!.lines).not.toContain('ARG SERVICE');
    expect(final.lines).toContain('ARG SERVICE');
    expect(final.lines).toContain('WORKDIR /app/services/${SERVICE}');
  });
});
