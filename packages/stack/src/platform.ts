/**
 * `npm start` (`stack start-platform`): the servers, the demo data, every built service under
 * supervision, the gateway's routes and landing page; and `stack up`'s supervision of servers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { logDir, repoRoot, say, spawnServer, stackHome, stopPid, type RunningServer } from './core';
import {
  canLogIn,
  demoAdminCredentials,
  demoCatalogFile,
  demoEnabled,
  ensureDemoAdmin,
  loadDemoCatalog,
  waitForCatalogIndex,
  type DemoAdmin,
} from './demo';
import { startStack, type Stack } from './index';
import { LogShipper } from './shipper';
import { servers } from './servers';
import { renderLandingPage, type LandingLink } from './landing';
import { discoverServices, type ServiceManifest } from './services';
import { Supervisor, type UnitSpec } from './supervisor';

/** `catalog-api` → `CATALOG_API_URL`, so services find each other. */
function urlVariable(service: string): string {
  return `${service.toUpperCase().replace(/-/g, '_')}_URL`;
}

/** Gateway path of a service's Swagger UI. */
export function docsPath(service: string): string {
  return `/docs/${service}/`;
}

function info(message: string): void {
  process.stderr.write(`[platform] ${message}\n`);
}

/** Supervision of the servers `stack` started itself (not the ones it found or was given). */
export function superviseServers(
  stack: Stack,
  supervisor: Supervisor,
  onEnvChange?: (server: RunningServer) => void,
): void {
  for (const name of stack.owned()) {
    const current = stack.servers.find((s) => s.name === name);
    if (current?.pid === undefined) continue; // nothing to watch
    let env = JSON.stringify(current?.env);
    const spec: UnitSpec = {
      name,
      kind: 'server',
      async start() {
        const server = await stack.restart(name);
        const now = JSON.stringify(server.env);
        if (now !== env) onEnvChange?.(server);
        env = now;
        return { pid: server.pid ?? 0, logFile: server.logFile };
      },
      // A requested restart stops the server inside stack.restart().
      async stop() {},
    };
    supervisor.add(spec, { pid: current.pid, logFile: current.logFile });
  }
}

export async function startPlatform(): Promise<void> {
  const root = repoRoot();
  // The default servers plus Jaeger (optional for the tests: it is a Go build); STACK_JAEGER=off
  // leaves it out.
  const stack = await startStack({
    only: [
      ...servers.filter((s) => !s.optional).map((s) => s.name),
      ...(process.env.STACK_JAEGER === 'off' ? [] : ['jaeger']),
    ],
  });
  const services = discoverServices(root);
  const supervisor = new Supervisor();
  // Logs to Elasticsearch: every service's stdout (its log file), the gateway's access log and
  // Jaeger's JSON log, from saved offsets (STACK_LOG_SHIPPING=off: none).
  let lastShipperError = '';
  const shipper =
    stack.env.ELASTICSEARCH_URL && process.env.STACK_LOG_SHIPPING !== 'off'
      ? new LogShipper({
          elasticsearchUrl: stack.env.ELASTICSEARCH_URL,
          stateFile: path.join(stackHome(), 'data', 'log-shipper', 'offsets.json'),
          retentionDays: Number(process.env.STACK_LOG_RETENTION_DAYS ?? 7),
          sources: () => [
            ...services.map((svc) => ({
              file: path.join(logDir(), `service-${svc.name}.log`),
              service: svc.name,
              format: 'ecs' as const,
            })),
            { file: path.join(logDir(), 'nginx-access.log'), service: 'gateway', format: 'nginx' },
            { file: path.join(logDir(), 'jaeger.log'), service: 'jaeger', format: 'ecs' },
          ],
          onError: (err) => {
            if (err.message === lastShipperError) return; // once per kind of outage
            lastShipperError = err.message;
            info(`log shipper: ${err.message} (retrying from the saved offsets)`);
          },
        })
      : undefined;
  shipper?.start();
  let stopping = false;
  const stopEverything = async (code: number) => {
    if (stopping) return;
    stopping = true;
    info('stopping services');
    await supervisor.stop(['service']);
    await shipper?.stop();
    if (stack.env.GATEWAY_URL) {
      const nginx = await import('./servers/nginx');
      nginx.writeLandingPage(
        renderLandingPage({
          docs: [],
          notice: 'The platform was stopped; npm start starts it again.',
        }),
      );
    }
    await stack.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stopEverything(0));
  process.on('SIGTERM', () => void stopEverything(0));

  // The catalog first: the ETL then indexes it on its first pass.
  const demo = demoEnabled();
  const demoLines: string[] = [];
  if (demo) {
    info(`demo data: loading the catalog (${demoCatalogFile(root)})`);
    const catalog = await loadDemoCatalog(root, { ...process.env, ...stack.env });
    if (catalog.outcome === 'failed' || catalog.outcome === 'missing') {
      info(`demo catalog: ${catalog.message}`);
    }
    demoLines.push(`  catalog        ${catalog.message.split('\n')[0]}`);
  }

  const serviceUrls = Object.fromEntries(
    services.map((s) => [urlVariable(s.name), `http://127.0.0.1:${s.port}`]),
  );
  const telemetry = require.resolve('@cinema/telemetry/register');
  const started: ServiceManifest[] = [];
  for (const svc of services) {
    const main = path.join(svc.dir, 'dist', 'main.js');
    if (!fs.existsSync(main)) {
      info(`${svc.name}: not built (${main} missing), skipped`);
      continue;
    }
    started.push(svc);
    supervisor.add({
      name: svc.name,
      kind: 'service',
      async start() {
        const proc = spawnServer({
          name: `service-${svc.name}`,
          command: process.execPath,
          args: [...svc.nodeArgs, '--require', telemetry, main],
          cwd: svc.dir,
          // Read at each start: a restarted server may have moved.
          env: {
            ...svc.env,
            ...process.env,
            ...stack.env,
            ...serviceUrls,
            PORT: String(svc.port),
            OTEL_SERVICE_NAME: svc.name,
            // catalog-admin's ops pages read the stack's Jaeger and the shipped logs.
            ...(stack.env.JAEGER_URL ? { OPS_JAEGER_URL: stack.env.JAEGER_URL } : {}),
            ...(stack.env.ELASTICSEARCH_URL
              ? { OPS_ELASTICSEARCH_URL: stack.env.ELASTICSEARCH_URL }
              : {}),
          },
        });
        return { pid: proc.pid, logFile: proc.logFile, exited: () => proc.exited };
      },
      async ready() {
        const res = await fetch(`http://127.0.0.1:${svc.port}/healthz`, {
          signal: AbortSignal.timeout(2000),
        });
        await res.arrayBuffer();
        return res.ok;
      },
      stop: (proc) => stopPid(proc.pid, 12_000),
    });
  }
  superviseServers(stack, supervisor, (server) => {
    info(`${server.name} came back with other settings; restarting the services`);
    for (const svc of started) void supervisor.restart(svc.name);
  });

  try {
    await supervisor.waitUp(
      started.map((s) => s.name),
      90_000,
    );
  } catch (err) {
    info((err as Error).message);
    await stopEverything(1);
    return;
  }

  // The demo admin once auth runs (a login tells whether it exists already).
  let admin: DemoAdmin | undefined;
  if (demo) {
    admin = demoAdminCredentials();
    const auth = started.find((s) => s.name === 'auth');
    const made = await ensureDemoAdmin(
      root,
      { ...process.env, ...stack.env },
      admin,
      auth ? () => canLogIn(`http://127.0.0.1:${auth.port}`, admin!) : undefined,
    );
    if (made.ok) {
      demoLines.push(
        `  admin          e-mail ${admin.email}  password ${admin.password}`,
        `                 (${admin.source === 'environment' ? 'from DEMO_ADMIN_EMAIL/DEMO_ADMIN_PASSWORD' : `kept in ${admin.file}`})`,
      );
    } else {
      info(`demo admin: ${made.message}`);
      admin = undefined;
    }
  }

  const gateway = stack.env.GATEWAY_URL;
  // Given with SMTP_URL (the stack then knows only that one), or from the stack's MailDev.
  const mailCatcher = stack.env.MAILCATCHER_URL ?? process.env.MAILCATCHER_URL;
  let indexed: Awaited<ReturnType<typeof waitForCatalogIndex>> | undefined;
  if (started.some((s) => s.name === 'catalog-etl')) {
    info('waiting for the catalog ETL to index the films');
    indexed = await waitForCatalogIndex({ ...process.env, ...stack.env });
    const line = `${indexed.indexed} of ${indexed.films} films indexed${indexed.complete ? '' : ' (the ETL is still at work: not all yet)'}`;
    if (!indexed.complete) info(line);
    if (demo) demoLines.push(`  search index   ${line}`);
  }

  const links: string[] = [];
  if (gateway) {
    const nginx = await import('./servers/nginx');
    await nginx.writeGatewayRoutes([
      ...started.flatMap((svc) =>
        svc.routes.map((prefix) => ({ prefix, upstream: `http://127.0.0.1:${svc.port}` })),
      ),
      ...started
        .filter((svc) => svc.api)
        .map((svc) => ({
          prefix: docsPath(svc.name),
          upstream: `http://127.0.0.1:${svc.port}/docs/`,
        })),
    ]);
    const routed = (prefix: string) => started.some((s) => s.routes.includes(prefix));
    const player =
      routed('/player') && indexed?.film
        ? {
            href: `/player/?film=${encodeURIComponent(indexed.film.id)}`,
            filmTitle: indexed.film.title,
          }
        : undefined;
    const docs: LandingLink[] = started
      .filter((svc) => svc.api)
      .map((svc) => ({ href: docsPath(svc.name), label: svc.name, note: svc.routes.join(', ') }));
    nginx.writeLandingPage(
      renderLandingPage({
        player,
        admin: routed('/admin') ? { href: '/admin/', email: admin?.email } : undefined,
        ops:
          routed('/admin') && started.some((s) => s.name === 'catalog-admin')
            ? { href: '/admin/ops/traces' }
            : undefined,
        analytics: routed('/analytics') ? { href: '/analytics/' } : undefined,
        docs,
        mailCatcher: mailCatcher,
      }),
    );
    links.push(`  Landing page   ${gateway}/`);
    if (player) links.push(`  Player         ${gateway}${player.href}`);
    if (routed('/admin')) links.push(`  Admin panel    ${gateway}/admin/`);
    if (routed('/analytics')) links.push(`  Analytics      ${gateway}/analytics/`);
    for (const d of docs) links.push(`  Swagger UI     ${gateway}${d.href}`);
    if (mailCatcher) links.push(`  Mail catcher   ${mailCatcher}`);
  }

  const lines = [
    '',
    'Cinema platform is running. Ctrl-C stops everything.',
    '',
    'Servers:',
    ...stack.servers.map((s) => `  ${s.name.padEnd(14)} ${s.version}`),
    '',
    'Environment:',
    ...Object.entries(stack.env).map(([k, v]) => `  ${k}=${v}`),
    '',
    'Services (supervised: a crash is restarted; `npm run stack -- status`, `-- restart <name>`):',
    ...(started.length
      ? started.map(
          (svc) =>
            `  ${svc.name.padEnd(14)} http://127.0.0.1:${svc.port}  (docs: /docs, health: /healthz, log: ${path.join(logDir(), `service-${svc.name}.log`)})`,
        )
      : ['  (none built yet)']),
    ...(demoLines.length ? ['', 'Demo data (DEMO_DATA=false turns it off):', ...demoLines] : []),
    ...(links.length ? ['', 'Open:', ...links] : []),
    ...(gateway && !links.length ? ['', `Gateway: ${gateway}`] : []),
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  say(
    'platform',
    `supervising from pid ${process.pid} (state in ${path.join(stackHome(), 'supervisors')})`,
  );
  // Stay up until a signal; the supervisor's timer is unref'd.
  setInterval(() => undefined, 1 << 30);
}
