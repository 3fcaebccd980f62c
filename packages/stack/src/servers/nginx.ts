import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  aptInstall,
  capture,
  dataDir,
  ensureDir,
  serverDir,
  useFallbackDir,
  useOwnDir,
  userCanReach,
  isAlive,
  logDir,
  pickPort,
  run,
  sleep,
  spawnServer,
  StackError,
  waitFor,
  which,
  type ServerDefinition,
} from '../core';
import { renderLandingPage } from '../landing';

/**
 * The API gateway: Debian's nginx in the foreground (`daemon off`), with its own prefix, pid
 * file and temp folders under the stack's data folder, so it needs no root-owned paths.
 * Requests are logged as one JSON object per line to `<logs>/nginx-access.log`. Routes are
 * location blocks in `<data>/nginx/routes/*.conf`, written by `writeGatewayRoutes`.
 */

/** `<data>/nginx`, or its fallback when nginx's workers (nobody) cannot reach it. */
function home(): string {
  return serverDir('nginx');
}

/**
 * As root, nginx's workers run as nobody and must read the landing page and write the temp
 * folders: when nobody cannot get into `<data>/nginx` (a clone under /root), use a fallback.
 */
async function reachableHome(): Promise<void> {
  if (!process.getuid || process.getuid() !== 0) return;
  const own = dataDir('nginx');
  if (await userCanReach('nobody', own)) {
    useOwnDir('nginx');
    return;
  }
  const fallback = useFallbackDir(
    'nginx',
    `nginx's workers (nobody) cannot reach ${own} (a parent folder is not traversable by other users)`,
  );
  if (!(await userCanReach('nobody', fallback))) {
    throw new StackError(
      `nginx: its workers (nobody) can reach neither ${own} nor ${fallback}; set STACK_HOME (or STACK_FALLBACK_DIR) to a folder every user can traverse`,
    );
  }
}

export function gatewayConfigFile(): string {
  return path.join(home(), 'nginx.conf');
}

export function gatewayRoutesDir(): string {
  return ensureDir(path.join(home(), 'routes'));
}

export function gatewayAccessLog(): string {
  return path.join(logDir(), 'nginx-access.log');
}

/** Static files of the gateway: the landing page `index.html` (served at `/`). */
export function gatewayHtmlDir(): string {
  return ensureDir(path.join(home(), 'html'));
}

/**
 * Replaces the landing page (`<data>/nginx/html/index.html`, served at `/`) atomically; nginx
 * reads it per request, so no reload is needed.
 */
export function writeLandingPage(html: string): void {
  const file = path.join(gatewayHtmlDir(), 'index.html');
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, html);
  fs.renameSync(tmp, file);
}

function pidFile(): string {
  return path.join(home(), 'nginx.pid');
}

/** Arguments that point nginx at our prefix and configuration (for start, -t and -s). */
function baseArgs(): string[] {
  return ['-p', `${home()}/`, '-c', gatewayConfigFile(), '-e', 'stderr'];
}

function renderConfig(port: number): string {
  const dir = home();
  const tmp = (name: string) => ensureDir(path.join(dir, 'tmp', name));
  const accessLog = JSON.stringify(gatewayAccessLog());
  return `# Written by the local stack (packages/stack/src/servers/nginx.ts); regenerated on start.
daemon off;
worker_processes 2;
pid ${JSON.stringify(pidFile())};
error_log stderr notice;

events {
  worker_connections 1024;
}

http {
  default_type application/octet-stream;
  sendfile on;
  keepalive_timeout 65;
  server_tokens off;
  client_max_body_size 50m;

  client_body_temp_path ${JSON.stringify(tmp('client_body'))};
  proxy_temp_path ${JSON.stringify(tmp('proxy'))};
  fastcgi_temp_path ${JSON.stringify(tmp('fastcgi'))};
  uwsgi_temp_path ${JSON.stringify(tmp('uwsgi'))};
  scgi_temp_path ${JSON.stringify(tmp('scgi'))};

  # The caller's X-Request-Id when it sends one, otherwise one made by nginx.
  map $http_x_request_id $gateway_request_id {
    default $http_x_request_id;
    "" $request_id;
  }

  log_format gateway_json escape=json
    '{"time":"$time_iso8601",'
    '"request_id":"$gateway_request_id",'
    '"method":"$request_method",'
    '"path":"$uri",'
    '"query":"$args",'
    '"status":$status,'
    '"duration":$request_time,'
    '"bytes":$body_bytes_sent,'
    '"upstream":"$upstream_addr",'
    '"upstream_status":"$upstream_status",'
    '"upstream_duration":"$upstream_response_time",'
    '"remote_addr":"$remote_addr",'
    '"user_agent":"$http_user_agent"}';
  access_log ${accessLog} gateway_json;

  proxy_http_version 1.1;
  proxy_connect_timeout 5s;
  proxy_read_timeout 120s;

  server {
    listen 127.0.0.1:${port};
    server_name _;
    root ${JSON.stringify(gatewayHtmlDir())};
    index index.html;
    add_header X-Request-Id $gateway_request_id always;

    location = /healthz {
      access_log off;
      default_type text/plain;
      return 200 "ok\\n";
    }

    include ${JSON.stringify(path.join(gatewayRoutesDir(), '*.conf'))};
  }
}
`;
}

export interface GatewayRoute {
  /** Path prefix, e.g. `/api/catalog`. */
  prefix: string;
  /**
   * Upstream URL, e.g. `http://127.0.0.1:3001`. Without a path the request URI is passed on
   * unchanged; with one (e.g. `http://127.0.0.1:3001/`) it replaces the prefix, as in nginx's
   * proxy_pass.
   */
  upstream: string;
}

function renderRoute({ prefix, upstream }: GatewayRoute): string {
  if (!/^\/[A-Za-z0-9._~:@%+/-]*$/.test(prefix)) {
    throw new StackError(`gateway: invalid route prefix ${JSON.stringify(prefix)}`);
  }
  let url: URL;
  try {
    url = new URL(upstream);
  } catch {
    throw new StackError(`gateway: invalid upstream ${JSON.stringify(upstream)} for ${prefix}`);
  }
  if (!/^https?:$/.test(url.protocol) || /[\s{};"'\\]/.test(upstream)) {
    throw new StackError(`gateway: upstream for ${prefix} must be an http(s) URL, got ${upstream}`);
  }
  const body = `    proxy_pass ${upstream};
    proxy_set_header Host $http_host;
    proxy_set_header Connection "";
    proxy_set_header X-Request-Id $gateway_request_id;
    # The server block answers with the id; the service's own copy would make it appear twice.
    proxy_hide_header X-Request-Id;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Forwarded-Host $host;
    proxy_set_header X-Forwarded-Port $server_port;
    proxy_set_header X-Forwarded-Prefix "${prefix.replace(/\/$/, '') || '/'}";`;
  // `/api/catalog` must not also catch `/api/catalogue`: match the bare path exactly and
  // everything below `/api/catalog/`.
  const blocks = prefix.endsWith('/')
    ? [`location ^~ ${prefix} {\n${body}\n}`]
    : [`location = ${prefix} {\n${body}\n}`, `location ^~ ${prefix}/ {\n${body}\n}`];
  return `# ${prefix} -> ${upstream}\n${blocks.join('\n')}\n`;
}

function runningPid(): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile(), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Renders the routes as location blocks into `<data>/nginx/routes/gateway.conf` and, when the
 * gateway runs, checks the configuration and reloads it (`nginx -s reload`). A configuration
 * nginx rejects is rolled back and reported as a StackError.
 */
export async function writeGatewayRoutes(routes: GatewayRoute[]): Promise<void> {
  const file = path.join(gatewayRoutesDir(), 'gateway.conf');
  const text =
    '# Written by writeGatewayRoutes (packages/stack/src/servers/nginx.ts)\n' +
    routes.map(renderRoute).join('\n');
  const previous = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  const pid = runningPid();
  if (pid === undefined || !fs.existsSync(gatewayConfigFile())) return;
  const logFile = path.join(logDir(), 'nginx.log');
  try {
    await run('nginx', [...baseArgs(), '-t', '-q'], { logFile, what: 'nginx -t (gateway routes)' });
  } catch (err) {
    if (previous === undefined) fs.rmSync(file, { force: true });
    else fs.writeFileSync(file, previous);
    throw err;
  }
  const before = await workers(pid);
  await run('nginx', [...baseArgs(), '-s', 'reload'], { logFile, what: 'nginx -s reload' });
  // The new configuration is live once the old workers are gone: until then they may still
  // take requests, on kept-alive connections in particular. They quit as soon as their
  // requests in flight are done; long ones (streams) are not waited for beyond a few seconds.
  const started = Date.now();
  while (Date.now() - started < 5000) {
    const now = await workers(pid);
    if (!now.some((w) => before.includes(w))) return;
    await sleep(50);
  }
}

async function workers(master: number): Promise<string[]> {
  try {
    return (await capture('ps', ['-o', 'pid=', '--ppid', String(master)]))
      .split(/\s+/)
      .filter(Boolean);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

async function healthy(url: string): Promise<boolean> {
  const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status === 200;
}

export const nginx: ServerDefinition = {
  name: 'nginx',
  envKey: 'GATEWAY_URL',
  async start() {
    const logFile = path.join(logDir(), 'nginx.log');
    if (!(await which('nginx'))) await aptInstall('nginx', ['nginx'], logFile);
    await reachableHome();
    const port = await pickPort(Number(process.env.STACK_GATEWAY_PORT ?? 28080));
    fs.writeFileSync(gatewayConfigFile(), renderConfig(port));
    if (!fs.existsSync(path.join(gatewayHtmlDir(), 'index.html'))) {
      writeLandingPage(
        renderLandingPage({
          docs: [],
          notice: 'The services are not running: npm start starts them and fills this page.',
        }),
      );
    }
    await run('nginx', [...baseArgs(), '-t', '-q'], { logFile, what: 'nginx -t' });
    const proc = spawnServer({
      name: 'nginx',
      command: 'nginx',
      args: baseArgs(),
      cwd: home(),
      logFile,
    });
    const url = `http://127.0.0.1:${port}`;
    await waitFor('nginx', () => healthy(url), { process: proc, timeoutMs: 30_000 });
    const version = (await capture('nginx', ['-v'])).replace(/^nginx version:\s*/, '');
    return {
      name: 'nginx',
      version,
      env: { GATEWAY_URL: url },
      pid: proc.pid,
      logFile,
    };
  },
  async probe(server) {
    return healthy(server.env.GATEWAY_URL!);
  },
};
