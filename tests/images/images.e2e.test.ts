/**
 * The service images, built with podman from the repository's Dockerfile (`npm run images`,
 * cached by content) and run with exactly what their charts render (helm template): env with
 * Secrets filled from the local stack, command/args, user, read-only root with the chart's
 * emptyDirs, dropped capabilities, probes and termination grace period (./containers.ts). Each
 * must become ready within the chart's probe budget, serve /openapi.json, answer one real
 * request and exit 0 on SIGTERM within terminationGracePeriodSeconds; catalog-etl also runs in
 * its CronJob form (`--once`) and exits 0. Needs root and podman (installed from Debian when
 * missing); a machine without either skips this file with the reason printed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { Client } from 'pg';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  buildImages,
  imageServices,
  kubeTools,
  runtimeImageViolations,
  startStack,
  which,
  type ServiceImage,
  type Stack,
} from '@cinema/stack';
import { suffix } from '@cinema/testing';
import { exec, ROOT } from '../k8s/support';
import {
  endpointsOf,
  execIn,
  removeContainer,
  startContainer,
  terminate,
  waitExit,
  waitReady,
  type Route,
  type Running,
} from './containers';
import {
  containerOf,
  helm,
  quantityBytes,
  renderChart,
  resolveEnv,
  type RenderedContainer,
} from './support';

const why = (() => {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (rootful podman, and apt-get to install it)';
  if (!fs.existsSync('/usr/bin/podman') && !fs.existsSync('/usr/bin/apt-get'))
    return 'neither podman nor apt-get to install it';
  return undefined;
})();
if (why)
  console.warn(
    `\n*** SKIPPED: the image tests (tests/images/images.e2e.test.ts) cannot run here: ${why}. The images were NOT built or checked. ***\n`,
  );
const describeImages = why ? describe.skip : describe;

/** Env values that are links for people, not servers the service connects to. */
const LINKS_ONLY = new Set(['NOTIFICATIONS_PUBLIC_URL', 'CINEMA_SITE_URL']);

const port = (url: string | undefined) => (url ? Number(new URL(url).port) : undefined);

describeImages('service images under podman, as their charts run them', () => {
  jest.setTimeout(20 * 60_000);
  const images = new Map<string, ServiceImage>();
  const running: Running[] = [];
  const database = `images_${suffix()}`;
  const jwtSecret = randomBytes(32).toString('hex');
  let stackDb: URL;
  let authUrl = '';
  let accessToken = '';

  /** The local stack's values for the Secrets the charts reference. */
  function secret(name: string, key: string): string | undefined {
    const amqp = new URL(process.env.AMQP_URL!);
    const values: Record<string, string> = {
      'cinema-postgres-app/url': `postgresql://${stackDb.username}:${stackDb.password}@cinema-postgres-rw:5432/${database}`,
      'cinema-rabbitmq-default-user/username': decodeURIComponent(amqp.username),
      'cinema-rabbitmq-default-user/password': decodeURIComponent(amqp.password),
      'cinema-auth-secrets/jwt-key-encryption-secret': jwtSecret,
      'cinema-es-elastic-user/elastic': 'local-stack-has-no-security',
      'cinema-es-catalog-reader/password': 'local-stack-has-no-security',
      'cinema-es-logs-reader/password': 'local-stack-has-no-security',
      'cinema-mongodb-admin-cinema/connectionString.standard': `mongodb://cinema-mongodb-svc:27017/`,
      'cinema-notifications-secrets/unsubscribe-secret': randomBytes(32).toString('hex'),
    };
    return values[`${name}/${key}`];
  }

  /** Cluster Service (host:port) -> port on the host's loopback. */
  function routesFor(env: Record<string, string>): Route[] {
    const stack: Record<string, number | undefined> = {
      'cinema-postgres-rw:5432': port(process.env.DATABASE_URL),
      'cinema-rabbitmq:5672': port(process.env.AMQP_URL),
      'cinema-redis:6379': port(process.env.REDIS_URL),
      'cinema-auth-redis:6379': port(process.env.REDIS_URL),
      'cinema-es-http:9200': port(process.env.ELASTICSEARCH_URL),
      'cinema-mongodb-svc:27017': port(process.env.MONGODB_URL),
      'cinema-jaeger-collector:4318': port(process.env.OTEL_EXPORTER_OTLP_ENDPOINT),
      'cinema-kafka-kafka-bootstrap:9092': Number(process.env.KAFKA_BROKERS!.split(':')[1]),
      'cinema-jaeger-query:16686': port(process.env.JAEGER_URL),
      'cinema-auth:80': authUrl ? port(authUrl) : undefined,
    };
    const linked = Object.fromEntries(Object.entries(env).filter(([k]) => !LINKS_ONLY.has(k)));
    const routes: Route[] = [];
    const missing: string[] = [];
    for (const endpoint of endpointsOf(linked)) {
      const hostPort = stack[endpoint];
      if (hostPort) routes.push({ service: endpoint, hostPort });
      // Traces are best effort (the exporter drops spans it cannot send): no Jaeger, no route.
      // So are catalog-admin's ops pages over Jaeger's query API (503 when it is unreachable).
      else if (!/^cinema-jaeger-(collector|query):/.test(endpoint)) missing.push(endpoint);
    }
    // Kafka's metadata names the broker's advertised listener, 127.0.0.1:<port> on the host.
    if (routes.some((r) => r.service.startsWith('cinema-kafka-kafka-bootstrap'))) {
      const kafka = Number(process.env.KAFKA_BROKERS!.split(':')[1]);
      routes.push({ service: `127.0.0.1:${kafka}`, hostPort: kafka });
    }
    if (missing.length) throw new Error(`no local server for ${missing.join(', ')}`);
    return routes;
  }

  async function rendered(service: string, args: string[] = [], kind = 'Deployment') {
    const container = containerOf(service, await renderChart(service, args), kind);
    const env = resolveEnv(container, secret);
    return { container, env, routes: routesFor(env) };
  }

  async function start(service: string, chartArgs: string[] = [], kind = 'Deployment') {
    const { container, env, routes } = await rendered(service, chartArgs, kind);
    const run = await startContainer({
      image: images.get(service)!.image,
      container,
      env,
      routes,
      entrypoint: container.command.length ? container.command : undefined,
      args: container.args.length ? container.args : undefined,
    });
    running.push(run);
    return { run, container };
  }

  /** Ready, /openapi.json, then `request`, then SIGTERM: exit 0 within the grace period. */
  async function lifecycle(
    service: string,
    request: (url: string) => Promise<void>,
  ): Promise<{ container: RenderedContainer; readySeconds: number; stopSeconds: number }> {
    const { run, container } = await start(service);
    const readySeconds = await waitReady(run, container);
    const spec = await fetch(`${run.url}/openapi.json`);
    expect(spec.status).toBe(200);
    expect(((await spec.json()) as { openapi: string }).openapi).toMatch(/^3\./);
    await request(run.url);
    const { code, seconds } = await terminate(run, container.terminationGracePeriodSeconds);
    if (code !== 0) throw new Error(`${service} exited ${code} on SIGTERM\n${await run.logs()}`);
    expect(seconds).toBeLessThan(container.terminationGracePeriodSeconds);
    console.log(
      `${service}: ready in ${readySeconds.toFixed(1)} s, stopped in ${seconds.toFixed(1)} s`,
    );
    return { container, readySeconds, stopSeconds: seconds };
  }

  beforeAll(async () => {
    await helm();
    const url = new URL(process.env.DATABASE_URL!);
    stackDb = url;
    const pg = new Client({ connectionString: url.toString() });
    await pg.connect();
    await pg.query(`CREATE DATABASE ${database}`);
    await pg.end();
    for (const image of await buildImages({ services: imageServices(ROOT) }))
      images.set(image.service, image);
  }, 120 * 60_000);

  /** The API servers this file started (the operator's test): stopped after, not left running. */
  const kubeStacks: Stack[] = [];

  afterAll(async () => {
    for (const run of running) await removeContainer(run);
    for (const kube of kubeStacks) await kube.stop();
    if (stackDb) {
      const pg = new Client({ connectionString: stackDb.toString() });
      await pg.connect();
      await pg.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await pg.end();
    }
  });

  test('podman is there (installed from Debian when missing)', async () => {
    expect(await which('podman')).toBeTruthy();
  });

  test('every runtime image holds no dev dependency, test or bench file', async () => {
    for (const image of images.values()) {
      expect({
        image: image.image,
        found: await runtimeImageViolations(image.image, image.service),
      }).toEqual({
        image: image.image,
        found: [],
      });
      console.log(`${image.image}: ${(image.bytes / 1e6).toFixed(0)} MB`);
    }
  });

  let auth: Running | undefined;

  test('auth: ready, its OpenAPI, register and log in, SIGTERM', async () => {
    await lifecycle('auth', async (url) => {
      const email = `image-${suffix()}@example.com`;
      const password = `Pw-${randomUUID()}`;
      const reg = await fetch(`${url}/api/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      expect(reg.status).toBe(201);
      const login = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      expect(login.status).toBe(200);
      expect(((await login.json()) as { accessToken: string }).accessToken).toBeTruthy();
    });
    // A second auth container stays up for the services that verify tokens (cinema-auth:80).
    const { run, container } = await start('auth');
    await waitReady(run, container);
    auth = run;
    authUrl = run.url;
    const email = `image-${suffix()}@example.com`;
    const password = `Pw-${randomUUID()}`;
    await fetch(`${authUrl}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    const login = await fetch(`${authUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    accessToken = ((await login.json()) as { accessToken: string }).accessToken;
  });

  test('catalog-api: ready, its OpenAPI, a film lookup in Elasticsearch, SIGTERM', async () => {
    expect(auth).toBeDefined();
    await lifecycle('catalog-api', async (url) => {
      const anonymous = await fetch(`${url}/api/v1/films/${randomUUID()}`);
      expect(anonymous.status).toBe(401);
      const res = await fetch(`${url}/api/v1/films/${randomUUID()}`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    });
  });

  test('ugc-collector: ready, its OpenAPI, a signed-in pause event acknowledged by Kafka, SIGTERM', async () => {
    expect(auth).toBeDefined();
    await lifecycle('ugc-collector', async (url) => {
      const res = await fetch(`${url}/api/pause`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
        body: JSON.stringify({
          event_id: randomUUID(),
          film_id: randomUUID(),
          client_time: new Date().toISOString(),
          position_sec: 42,
        }),
      });
      expect(await res.text()).toMatch(/accepted/);
      expect(res.status).toBe(202);
    });
  });

  test('ugc-etl with embedded chDB (its chart in clickhouse.embedded mode): ready, its OpenAPI, an event sent to the collector container read back through its analytics API, SIGTERM', async () => {
    expect(auth).toBeDefined();
    // An analyst (the read API wants admin or super_user): createsuperuser inside the running
    // auth container, as `kubectl exec` would run it in the cluster.
    const admin = { email: `image-admin-${suffix()}@example.com`, password: `Pw-${randomUUID()}` };
    await execIn(
      auth!,
      ['node', 'dist/cli.js', 'createsuperuser', '--email', admin.email, '--password-stdin'],
      `${admin.password}\n`,
    );
    const adminLogin = await fetch(`${authUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(admin),
    });
    expect(adminLogin.status).toBe(200);
    const adminToken = ((await adminLogin.json()) as { accessToken: string }).accessToken;

    // The chart's embedded mode; the topics are the charts' own names (the collector's chart
    // renders no prefix, nor does this one), the consumer group is this run's own so a platform
    // running beside the test shares no partitions with it.
    const { run: etl, container } = await start('ugc-etl', [
      '--set',
      'clickhouse.embedded.enabled=true',
      '--set',
      `config.KAFKA_GROUP_ID=images-${suffix()}`,
    ]);
    const names = container.env.map((e) => e.name);
    expect(names).not.toContain('CLICKHOUSE_URL');
    expect(names).toContain('CHDB_PATH');
    expect(container.writablePaths).toEqual(['/tmp', '/var/lib/ugc-etl/chdb']);
    const readySeconds = await waitReady(etl, container);
    const spec = await fetch(`${etl.url}/openapi.json`);
    expect(spec.status).toBe(200);
    expect(((await spec.json()) as { openapi: string }).openapi).toMatch(/^3\./);

    const filmId = randomUUID();
    const eventId = randomUUID();
    const viewer = (
      JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as {
        sub: string;
      }
    ).sub;
    const eventsUrl = `${etl.url}/api/v1/analytics/films/${filmId}/events`;
    expect((await fetch(eventsUrl)).status).toBe(401);
    const asViewer = await fetch(eventsUrl, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(asViewer.status).toBe(403);

    // The collector's container as its chart runs it, and one signed-in pause through it.
    const { run: collector, container: collectorContainer } = await start('ugc-collector');
    await waitReady(collector, collectorContainer);
    const sent = Date.now();
    const res = await fetch(`${collector.url}/api/pause`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({
        event_id: eventId,
        film_id: filmId,
        client_time: new Date().toISOString(),
        position_sec: 137,
      }),
    });
    expect(res.status).toBe(202);
    const accepted = Date.now();

    // Kafka -> the ugc-etl container -> chDB on its emptyDir -> its read API.
    type Events = { film_id: string; pauses: Array<Record<string, unknown>> };
    let stored: Events | undefined;
    while (Date.now() - accepted < 60_000) {
      const r = await fetch(eventsUrl, { headers: { authorization: `Bearer ${adminToken}` } });
      expect(r.status).toBe(200);
      const body = (await r.json()) as Events;
      if (body.pauses.length) {
        stored = body;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const visibleMs = Date.now() - accepted;
    if (!stored)
      throw new Error(`the pause never reached ugc-etl's API\n${(await etl.logs()).slice(-6000)}`);
    expect(stored.pauses).toEqual([
      expect.objectContaining({ event_id: eventId, user_id: viewer, position_sec: 137 }),
    ]);
    // The analytics page's chart of it too (rollup tables filled by materialized views).
    const chart = await fetch(
      `${etl.url}/api/v1/analytics/charts/pause-heatmap?film_id=${filmId}`,
      { headers: { authorization: `Bearer ${adminToken}` } },
    );
    expect(chart.status).toBe(200);
    expect(await chart.json()).toMatchObject({
      films: [{ film_id: filmId, pauses: 1 }],
      cells: [{ film_id: filmId, minute: 2, pauses: 1 }],
    });

    // What the process and its data take. RSS counts chDB's library mapped from the image
    // (file pages, clean: page cache the kernel reclaims before an OOM kill); the memory cgroup
    // the chart's limit sets holds what is charged to the container (cgroup v1 here, v2 too).
    const status = (await execIn(etl, ['cat', '/proc/1/status'])).stdout;
    const kib = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    const cgroup = (
      await execIn(etl, [
        'sh',
        '-c',
        'cd /sys/fs/cgroup/memory 2>/dev/null && cat memory.limit_in_bytes memory.max_usage_in_bytes || (cd /sys/fs/cgroup && cat memory.max memory.peak)',
      ])
    ).stdout
      .trim()
      .split('\n')
      .map(Number);
    const [limitBytes, peakBytes] = cgroup as [number, number];
    expect(container.memoryLimit).toBe('1Gi');
    expect(limitBytes).toBe(quantityBytes(container.memoryLimit!));
    expect(peakBytes).toBeLessThan(limitBytes);
    const data = (await execIn(etl, ['du', '-sk', '/var/lib/ugc-etl/chdb'])).stdout;

    const collectorStop = await terminate(
      collector,
      collectorContainer.terminationGracePeriodSeconds,
    );
    expect(collectorStop.code).toBe(0);
    const { code, seconds } = await terminate(etl, container.terminationGracePeriodSeconds);
    if (code !== 0) throw new Error(`ugc-etl exited ${code} on SIGTERM\n${await etl.logs()}`);
    expect(seconds).toBeLessThan(container.terminationGracePeriodSeconds);
    console.log(
      `ugc-etl (embedded chDB): ready in ${readySeconds.toFixed(1)} s; pause visible through its API ${visibleMs} ms after the collector's 202 (${accepted - sent} ms); RSS ${(kib('VmRSS') / 1024).toFixed(0)} MiB (anonymous ${(kib('RssAnon') / 1024).toFixed(0)}, files ${(kib('RssFile') / 1024).toFixed(0)}), peak ${(kib('VmHWM') / 1024).toFixed(0)} MiB; memory cgroup peak ${(peakBytes / 2 ** 20).toFixed(0)} MiB of its ${(limitBytes / 2 ** 20).toFixed(0)} MiB limit; chDB folder ${data.split(/\s/)[0]} KiB; stopped in ${seconds.toFixed(1)} s`,
    );
  });

  test('catalog-admin: ready (its migrations made the catalog schema), its OpenAPI, the login page, SIGTERM', async () => {
    await lifecycle('catalog-admin', async (url) => {
      const res = await fetch(`${url}/admin/login`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
    });
  });

  test("ugc-api: ready, its OpenAPI, the signed-in viewer's bookmarks from MongoDB, SIGTERM", async () => {
    expect(auth).toBeDefined();
    await lifecycle('ugc-api', async (url) => {
      const res = await fetch(`${url}/api/v1/ugc/bookmarks`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(res.status).toBe(200);
      const anonymous = await fetch(`${url}/api/v1/ugc/bookmarks`);
      expect(anonymous.status).toBe(401);
    });
  });

  test("notifications: ready, its OpenAPI, the signed-in user's genre preferences, SIGTERM", async () => {
    expect(auth).toBeDefined();
    await lifecycle('notifications', async (url) => {
      const res = await fetch(`${url}/api/v1/notifications/preferences/genres`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(res.status).toBe(200);
    });
  });

  test('catalog-etl: ready as a Deployment, SIGTERM; and its CronJob form (--once) exits 0', async () => {
    await lifecycle('catalog-etl', async (url) => {
      const res = await fetch(`${url}/healthz`);
      expect(res.status).toBe(200);
    });
    // The CronJob form as charts/catalog-etl/values.yaml describes it.
    const cron = ['--set', 'workload.kind=CronJob', '--set-json', 'args=["dist/main.js","--once"]'];
    const { run } = await start('catalog-etl', cron, 'CronJob');
    const code = await waitExit(run, 300);
    if (code !== 0) throw new Error(`catalog-etl --once exited ${code}\n${await run.logs()}`);
  });
  test("operator: ready with its chart's ServiceAccount and RBAC on the stack's kube-apiserver, metrics, SIGTERM", async () => {
    const kube = await startStack({ only: ['etcd', 'kube-apiserver'] });
    kubeStacks.push(kube);
    const kubeconfig = kube.env.STACK_KUBECONFIG!;
    const tools = await kubeTools();
    const kubectl = (args: string[], input?: string) =>
      exec(tools.kubectl, ['--kubeconfig', kubeconfig, ...args], { input });
    // Release and namespace of its own: the chart's ClusterRole names carry the namespace.
    const ns = `images-${suffix()}`;
    const objects = await renderChart('operator', [], { release: ns, namespace: ns });
    const rbacKinds = [
      'ServiceAccount',
      'Role',
      'RoleBinding',
      'ClusterRole',
      'ClusterRoleBinding',
    ];
    const rbac = objects.filter((o) => rbacKinds.includes(o.kind));
    const crd = path.join(ROOT, 'charts', 'operator', 'crds', 'cinemaplatforms.cinema.dev.yaml');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cinema-image-sa-'));
    try {
      await kubectl(['create', 'namespace', ns]);
      await kubectl(['apply', '--server-side', '--force-conflicts', '-f', crd]);
      await kubectl(
        ['apply', '-n', ns, '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }),
      );
      // What the kubelet projects into a pod with automountServiceAccountToken: a token of the
      // pod's ServiceAccount, the cluster CA and the namespace; and the API server's address.
      const account = objects.find((o) => o.kind === 'ServiceAccount')!.metadata.name;
      const token = (
        await kubectl(['create', 'token', account, '-n', ns, '--duration', '1h'])
      ).stdout.trim();
      const cluster = (parseYaml(fs.readFileSync(kubeconfig, 'utf8')) as any).clusters[0].cluster; // eslint-disable-line @typescript-eslint/no-explicit-any
      const ca = cluster['certificate-authority-data']
        ? Buffer.from(cluster['certificate-authority-data'], 'base64')
        : fs.readFileSync(cluster['certificate-authority']);
      fs.writeFileSync(path.join(dir, 'token'), token, { mode: 0o644 });
      fs.writeFileSync(path.join(dir, 'ca.crt'), ca, { mode: 0o644 });
      fs.writeFileSync(path.join(dir, 'namespace'), ns, { mode: 0o644 });
      fs.chmodSync(dir, 0o755);
      const apiPort = Number(new URL(cluster.server).port);
      const container = containerOf('operator', objects);
      const env = {
        ...resolveEnv(container, secret),
        KUBERNETES_SERVICE_HOST: '127.0.0.1',
        KUBERNETES_SERVICE_PORT: String(apiPort),
      };
      const run = await startContainer({
        image: images.get('operator')!.image,
        container,
        env,
        routes: [...routesFor(env), { service: `127.0.0.1:${apiPort}`, hostPort: apiPort }],
        mounts: [{ source: dir, target: '/var/run/secrets/kubernetes.io/serviceaccount' }],
      });
      running.push(run);
      const readySeconds = await waitReady(run, container);
      const metrics = await fetch(`${run.url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^# (HELP|TYPE) /m);
      const { code, seconds } = await terminate(run, container.terminationGracePeriodSeconds);
      if (code !== 0) throw new Error(`operator exited ${code} on SIGTERM\n${await run.logs()}`);
      expect(seconds).toBeLessThan(container.terminationGracePeriodSeconds);
      console.log(
        `operator: ready in ${readySeconds.toFixed(1)} s, stopped in ${seconds.toFixed(1)} s`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
      for (const o of rbac.filter((r) => r.kind.startsWith('Cluster')))
        await kubectl(['delete', o.kind, o.metadata.name, '--ignore-not-found']).catch(
          () => undefined,
        );
    }
  });
});
