import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  capture,
  cacheDir,
  dataDir,
  ensureDir,
  fetchMavenJars,
  logDir,
  pickPort,
  run,
  say,
  spawnServer,
  StackError,
  stopPid,
  waitFor,
  which,
  withLock,
  type RunningServer,
  type ServerDefinition,
} from '../core';

/**
 * Elasticsearch 8 (8.19.21, the newest 8.x on Maven Central), single node, no security, from
 * the jars on Maven Central (`org.elasticsearch:elasticsearch`, the
 * `org.elasticsearch.plugin:transport-netty4` module for HTTP and transport, and
 * `elasticsearch-entitlement-bridge`), fetched once with Maven into the cache and laid out like
 * a distribution's ES_HOME: `lib/` (the server's module path), `lib/entitlement-bridge/`,
 * `lib/entitlement-agent/`, `lib/tools/ansi-console/`, `modules/transport-netty4/` (its jar,
 * netty, and the descriptor and entitlement policy its jar carries), `modules/stack-rest-root/`,
 * `plugins/` (empty).
 *
 * Missing, because not published on Maven Central: x-pack (security, ILM, ML, index templates
 * for data streams, ...); `analysis-common` (the server's built-in analyzers work: standard,
 * simple, whitespace, stop, keyword; not pattern, fingerprint, the language analyzers, nor most
 * token filters and char filters); `painless` (no scripts); `reindex` (no _reindex,
 * _update_by_query, _delete_by_query); `ingest-common`; `mapper-extras` (no scaled_float,
 * rank_feature, search_as_you_type); `parent-join`; `percolator`; `rest-root` (replaced, see
 * below).
 *
 * Pieces of the distribution that are not on Maven Central, and what replaces them (small Java
 * sources below, compiled once into the cache):
 * - server-cli, the launcher. Since 8.0 `org.elasticsearch.bootstrap.Elasticsearch` does not
 *   read elasticsearch.yml: the launcher parses the settings, writes them as a serialised
 *   `ServerArgs` to the server's stdin and keeps stdin open (the server exits on end of stdin).
 *   Here `StackEsArgs`, run in a short JVM at each start, writes those bytes with ES's own
 *   classes to config/server-args.bin, and the `StackEsAgent` java agent (premain, before the
 *   server's main) installs as System.in a stream that yields them and then blocks forever.
 *   (ES's classes cannot be used inside the server's JVM before its main: its logging is not
 *   set up yet.) Stop is SIGTERM: ES's shutdown hook closes the node.
 * - The entitlement agent (8.19 replaced the SecurityManager with "entitlements" even on Java
 *   17): ES attaches an agent to itself which hands the Instrumentation to its entitlement
 *   library; `StackEntitlementAgent` does just that. The bridge jar is patched into java.base
 *   with the JVM flags the distribution's launcher uses.
 * - The ANSI console (jansi): a stub loader answering "no console", as the real one does when
 *   stdout is not a terminal.
 * - `rest-root`, which serves `GET /` (the clients' info(), our version string): the
 *   `stack-rest-root` module answers it (cluster_uuid "_na_").
 * The server runs as Java modules (`--module-path lib -m org.elasticsearch.server/...`), as in
 * the distribution: its plugin loader needs the server to be a named module.
 *
 * ES refuses to run as root: when the stack runs as root, the server runs as the
 * `elasticsearch` system user (created when missing) through `setpriv`, which execs, so the
 * recorded pid is the JVM itself; its ES_HOME is then a hard-linked (or copied) mirror under
 * the data folder, because the cache usually sits in root's home, which other users cannot read.
 */
const ES_VERSION = '8.19.21';
const MODULE = 'transport-netty4';
/** Marker of a finished install; its number moves when the cache layout changes (reinstall). */
const INSTALLED = '.installed-2';

function cacheHome(): string {
  return path.join(cacheDir(), `elasticsearch-${ES_VERSION}`);
}

const argsSource = `// Written by the local stack (packages/stack/src/servers/elasticsearch.ts).
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.elasticsearch.bootstrap.ServerArgs;
import org.elasticsearch.common.io.stream.OutputStreamStreamOutput;
import org.elasticsearch.common.settings.KeyStoreWrapper;
import org.elasticsearch.common.settings.Settings;

/** Does the CLI launcher's part: elasticsearch.yml in, serialised ServerArgs out. */
public final class StackEsArgs {
    public static void main(String[] argv) throws Exception {
        Path config = Paths.get(argv[0]).toAbsolutePath();
        Settings settings = Settings.builder().loadFromPath(config.resolve("elasticsearch.yml")).build();
        KeyStoreWrapper secrets = KeyStoreWrapper.create();
        KeyStoreWrapper.addBootstrapSeed(secrets);
        ServerArgs args = new ServerArgs(false, false, null, secrets, settings, config, Paths.get(settings.get("path.logs")));
        try (OutputStream file = Files.newOutputStream(Paths.get(argv[1]));
             OutputStreamStreamOutput out = new OutputStreamStreamOutput(file)) {
            args.writeTo(out);
        }
    }
}
`;

const agentSource = `// Written by the local stack (packages/stack/src/servers/elasticsearch.ts).
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.file.Files;
import java.nio.file.Paths;

/** Stands in for the CLI launcher's pipe: System.in yields the ServerArgs, then never ends. */
public final class StackEsAgent {
    public static void premain(String argsFile) throws Exception {
        byte[] bytes = Files.readAllBytes(Paths.get(argsFile));
        System.setIn(new SequenceInputStream(new ByteArrayInputStream(bytes), new Forever()));
    }

    /** The launcher's end of the pipe never closes: ES stops on SIGTERM, not on end of stdin. */
    static final class Forever extends InputStream {
        @Override
        public int read() {
            for (;;) {
                try {
                    Thread.sleep(Long.MAX_VALUE);
                } catch (InterruptedException e) {
                    // keep blocking
                }
            }
        }
    }
}
`;

/**
 * ES loads `org.elasticsearch.io.ansi.AnsiConsoleLoader` from lib/tools/ansi-console (a
 * distribution-only jar, with jansi) to print to a terminal. Ours never has one (stdout is the
 * log file), where the real loader answers null too; so a stub that always does.
 */
const ansiConsoleSource = `// Written by the local stack (packages/stack/src/servers/elasticsearch.ts).
package org.elasticsearch.io.ansi;

import java.util.function.Supplier;

public final class AnsiConsoleLoader implements Supplier<Object> {
    @Override
    public Object get() {
        return null;
    }
}
`;

/**
 * The entitlement agent of the distribution (lib/entitlement-agent, not on Maven Central): ES
 * attaches it to itself at startup and it hands the Instrumentation to the entitlement library.
 */
const entitlementAgentSource = `// Written by the local stack (packages/stack/src/servers/elasticsearch.ts).
import java.lang.instrument.Instrumentation;

public final class StackEntitlementAgent {
    public static void agentmain(String initClass, Instrumentation inst) throws Exception {
        Class.forName(initClass).getMethod("initialize", Instrumentation.class).invoke(null, inst);
    }
}
`;

/**
 * Since 8.x `GET /` (name, cluster and version, which the clients call for info() and the stack
 * for its version) lives in the distribution's `rest-root` module, not on Maven Central; this
 * small module stands in for it (cluster_uuid is reported as "_na_").
 */
const ROOT_MODULE = 'stack-rest-root';
const restRootSource = `// Written by the local stack (packages/stack/src/servers/elasticsearch.ts).
package org.cinema.stack.rest;

import java.util.Collection;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.elasticsearch.Build;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.ClusterName;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.IndexScopedSettings;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.settings.SettingsFilter;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.xcontent.XContentBuilder;

/** GET / (the distribution's rest-root module, not on Maven Central): name, cluster and version. */
public final class StackRestRootPlugin extends Plugin implements ActionPlugin {
    @Override
    public Collection<RestHandler> getRestHandlers(Settings settings, NamedWriteableRegistry registry, RestController controller,
            ClusterSettings clusterSettings, IndexScopedSettings indexScopedSettings, SettingsFilter settingsFilter,
            IndexNameExpressionResolver resolver, Supplier<DiscoveryNodes> nodes, Predicate<NodeFeature> features) {
        return List.of(new Root(settings));
    }

    static final class Root extends BaseRestHandler {
        private final Settings settings;

        Root(Settings settings) {
            this.settings = settings;
        }

        @Override
        public String getName() {
            return "stack_rest_root_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            return channel -> {
                Build build = Build.current();
                XContentBuilder body = channel.newBuilder();
                body.startObject();
                body.field("name", Node.NODE_NAME_SETTING.get(settings));
                body.field("cluster_name", ClusterName.CLUSTER_NAME_SETTING.get(settings).value());
                body.field("cluster_uuid", "_na_");
                body.startObject("version");
                body.field("number", build.qualifiedVersion());
                body.field("build_flavor", build.flavor());
                body.field("build_type", build.type().displayName());
                body.field("build_hash", build.hash());
                body.field("build_date", build.date());
                body.field("build_snapshot", build.isSnapshot());
                body.field("lucene_version", org.apache.lucene.util.Version.LATEST.toString());
                body.field("minimum_wire_compatibility_version", build.minWireCompatVersion());
                body.field("minimum_index_compatibility_version", build.minIndexCompatVersion());
                body.endObject();
                body.field("tagline", "You Know, for Search");
                body.endObject();
                channel.sendResponse(new RestResponse(RestStatus.OK, body));
            };
        }
    }
}
`;

/** Fetches the jars and builds the ES_HOME layout in the cache, once (marker `.installed`). */
async function install(logFile: string): Promise<string> {
  const home = cacheHome();
  const marker = path.join(home, INSTALLED);
  if (fs.existsSync(marker)) return home;
  return withLock(`elasticsearch-${ES_VERSION}`, async () => {
    if (fs.existsSync(marker)) return home;
    for (const tool of ['javac', 'jar']) {
      if (!(await which(tool))) {
        throw new StackError(
          `elasticsearch: ${tool} is needed to install Elasticsearch from Maven Central (a JDK 17+ and Maven); install it or set ELASTICSEARCH_URL`,
        );
      }
    }
    ensureDir(home);
    for (const sub of ['jars', 'lib', 'modules', 'plugins', 'agent']) {
      fs.rmSync(path.join(home, sub), { recursive: true, force: true });
    }
    const jars = path.join(home, 'jars');
    await fetchMavenJars({
      server: 'elasticsearch',
      dir: home,
      outputDir: jars,
      logFile,
      urlVariable: 'ELASTICSEARCH_URL',
      artifacts: [
        { groupId: 'org.elasticsearch', artifactId: 'elasticsearch', version: ES_VERSION },
        {
          groupId: 'org.elasticsearch',
          artifactId: 'elasticsearch-entitlement-bridge',
          version: ES_VERSION,
        },
        { groupId: 'org.elasticsearch.plugin', artifactId: MODULE, version: ES_VERSION },
      ],
    });

    // The module's own jar and netty go to modules/transport-netty4, the entitlement bridge to
    // lib/entitlement-bridge (patched into java.base), everything else is the server's module path.
    const lib = ensureDir(path.join(home, 'lib'));
    const moduleDir = ensureDir(path.join(home, 'modules', MODULE));
    const bridgeDir = ensureDir(path.join(lib, 'entitlement-bridge'));
    ensureDir(path.join(home, 'plugins'));
    for (const jar of fs.readdirSync(jars)) {
      const to =
        jar.startsWith(`${MODULE}-`) || jar.startsWith('netty-')
          ? moduleDir
          : jar.startsWith('elasticsearch-entitlement-bridge-')
            ? bridgeDir
            : lib;
      fs.renameSync(path.join(jars, jar), path.join(to, jar));
    }
    fs.rmSync(jars, { recursive: true, force: true });
    if (!fs.existsSync(path.join(lib, `elasticsearch-${ES_VERSION}.jar`))) {
      throw new StackError(
        `elasticsearch: elasticsearch-${ES_VERSION}.jar missing from ${lib}`,
        logFile,
      );
    }
    // The descriptor and entitlement policy that the distribution puts beside the module's jars
    // travel inside its jar.
    const extracted = ensureDir(path.join(home, 'extracted'));
    await run(
      'jar',
      ['xf', path.join(moduleDir, `${MODULE}-${ES_VERSION}.jar`), `META-INF/es-plugins/${MODULE}/`],
      {
        logFile,
        cwd: extracted,
        what: `extract the ${MODULE} descriptor`,
      },
    );
    for (const file of ['plugin-descriptor.properties', 'entitlement-policy.yaml']) {
      const from = path.join(extracted, 'META-INF', 'es-plugins', MODULE, file);
      if (fs.existsSync(from)) fs.copyFileSync(from, path.join(moduleDir, file));
    }
    fs.rmSync(extracted, { recursive: true, force: true });
    if (!fs.existsSync(path.join(moduleDir, 'plugin-descriptor.properties'))) {
      throw new StackError(
        `elasticsearch: no plugin-descriptor.properties in the ${MODULE} jar`,
        logFile,
      );
    }

    say('elasticsearch', 'compiling the launcher, agent, console and rest-root stand-ins');
    const agent = ensureDir(path.join(home, 'agent'));
    const compile = (jar: string, sources: Record<string, string>, extra: JarExtras = {}) =>
      compileJar({ workDir: agent, jar, sources, logFile, ...extra });
    await compile(
      path.join(agent, 'stack-es-agent.jar'),
      { StackEsAgent: agentSource, StackEsArgs: argsSource },
      { classpath: `${lib}/*`, manifest: 'Premain-Class: StackEsAgent\n' },
    );
    await compile(
      path.join(ensureDir(path.join(lib, 'entitlement-agent')), 'stack-entitlement-agent.jar'),
      { StackEntitlementAgent: entitlementAgentSource },
      {
        manifest: [
          'Agent-Class: StackEntitlementAgent',
          'Can-Redefine-Classes: true',
          'Can-Retransform-Classes: true',
          '',
        ].join('\n'),
      },
    );
    const rootModule = ensureDir(path.join(home, 'modules', ROOT_MODULE));
    await compile(
      path.join(rootModule, `${ROOT_MODULE}.jar`),
      { StackRestRootPlugin: restRootSource },
      { classpath: `${lib}/*` },
    );
    fs.writeFileSync(
      path.join(rootModule, 'plugin-descriptor.properties'),
      [
        'description=GET / for the local stack (stands in for the rest-root module)',
        `version=${ES_VERSION}`,
        `name=${ROOT_MODULE}`,
        'classname=org.cinema.stack.rest.StackRestRootPlugin',
        'java.version=17',
        `elasticsearch.version=${ES_VERSION}`,
        '',
      ].join('\n'),
    );
    await compile(
      path.join(ensureDir(path.join(lib, 'tools', 'ansi-console')), 'stack-ansi-console.jar'),
      {
        AnsiConsoleLoader: ansiConsoleSource,
      },
    );
    fs.writeFileSync(marker, `${new Date().toISOString()}\n`);
    return home;
  });
}

interface JarExtras {
  /** javac's class path. */
  classpath?: string;
  /** Manifest lines (`Premain-Class: …`), when the jar needs more than the default. */
  manifest?: string;
}

/** javac (release 17) the given classes (name -> source) in a folder of their own, then jar them. */
async function compileJar(
  o: JarExtras & { workDir: string; jar: string; sources: Record<string, string>; logFile: string },
): Promise<void> {
  const name = path.basename(o.jar, '.jar');
  const src = ensureDir(path.join(o.workDir, `${name}-src`));
  const classes = path.join(o.workDir, `${name}-classes`);
  fs.rmSync(classes, { recursive: true, force: true });
  ensureDir(classes);
  const files = Object.entries(o.sources).map(([cls, source]) => {
    const file = path.join(src, `${cls}.java`);
    fs.writeFileSync(file, source);
    return file;
  });
  const cp = o.classpath ? ['-cp', o.classpath] : [];
  await run('javac', ['--release', '17', ...cp, '-d', classes, ...files], {
    logFile: o.logFile,
    what: `javac ${Object.keys(o.sources).join(' ')}`,
  });
  const manifest = path.join(o.workDir, `${name}.MF`);
  if (o.manifest) fs.writeFileSync(manifest, o.manifest);
  await run(
    'jar',
    o.manifest ? ['cfm', o.jar, manifest, '-C', classes, '.'] : ['cf', o.jar, '-C', classes, '.'],
    { logFile: o.logFile, what: `jar ${name}` },
  );
}

interface RunAs {
  prefix: string[];
  uid?: number;
  gid?: number;
}

/** When root: the `elasticsearch` system user (created when missing) and a setpriv prefix. */
async function runAs(logFile: string): Promise<RunAs> {
  if (!process.getuid || process.getuid() !== 0) return { prefix: [] };
  const ids = async () => ({
    uid: Number(await capture('id', ['-u', 'elasticsearch'])),
    gid: Number(await capture('id', ['-g', 'elasticsearch'])),
  });
  let found: { uid: number; gid: number };
  try {
    found = await ids();
  } catch {
    say('elasticsearch', 'running as root: creating the elasticsearch system user');
    await run(
      'useradd',
      [
        '--system',
        '--user-group',
        '--no-create-home',
        '--shell',
        '/usr/sbin/nologin',
        'elasticsearch',
      ],
      { logFile, what: 'useradd elasticsearch' },
    );
    found = await ids();
  }
  return {
    prefix: ['setpriv', `--reuid=${found.uid}`, `--regid=${found.gid}`, '--init-groups', '--'],
    ...found,
  };
}

/** Mirrors `src` into `dst` with hard links (copies across file systems). */
function linkTree(src: string, dst: string): void {
  ensureDir(dst);
  fs.chmodSync(dst, 0o755);
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const from = path.join(src, entry.name);
    const to = path.join(dst, entry.name);
    if (entry.isDirectory()) {
      linkTree(from, to);
    } else if (entry.isFile()) {
      try {
        fs.linkSync(from, to);
      } catch {
        fs.copyFileSync(from, to);
      }
      fs.chmodSync(to, 0o644);
    }
  }
}

/** The ES_HOME the server runs from: the cache itself, or a mirror the server's user can read. */
function serverHome(cached: string, as: RunAs, data: string): string {
  if (as.uid === undefined) return cached;
  const mirror = path.join(data, 'home');
  const stamp = path.join(mirror, '.mirrored');
  const want = `${cached}\n${fs.readFileSync(path.join(cached, INSTALLED), 'utf8')}`;
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) return mirror;
  fs.rmSync(mirror, { recursive: true, force: true });
  linkTree(cached, mirror);
  fs.writeFileSync(stamp, want);
  return mirror;
}

function yamlString(value: string): string {
  return JSON.stringify(value);
}

function elasticsearchYml(o: {
  home: string;
  data: string;
  logs: string;
  port: number;
  transportPort: number;
}) {
  return `# Written by the local stack at each start (read by its launcher agent, not by ES).
cluster.name: cinema-stack
node.name: stack-node
path.home: ${yamlString(o.home)}
path.data: ${yamlString(o.data)}
path.logs: ${yamlString(o.logs)}
network.host: 127.0.0.1
http.port: ${o.port}
transport.port: ${o.transportPort}
discovery.type: single-node
action.auto_create_index: true
cluster.routing.allocation.disk.threshold_enabled: false
`;
}

const log4j2Properties = `# Written by the local stack: everything to stdout (the stack's elasticsearch.log).
status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
logger.deprecation.name = org.elasticsearch.deprecation
logger.deprecation.level = error
`;

function jvmArgs(o: { home: string; config: string; tmp: string; bridgeJar: string }): string[] {
  return [
    '-Xms512m',
    '-Xmx512m',
    '-XX:+UseG1GC',
    '-Xss1m',
    '-Djava.awt.headless=true',
    '-Dfile.encoding=UTF-8',
    '-Djna.nosys=true',
    '-XX:-OmitStackTraceInFastThrow',
    '-Dio.netty.noUnsafe=true',
    '-Dio.netty.noKeySetOptimization=true',
    '-Dio.netty.recycler.maxCapacityPerThread=0',
    '-Dlog4j.shutdownHookEnabled=false',
    '-Dlog4j2.disable.jmx=true',
    '-Dlog4j2.formatMsgNoLookups=true',
    '-Des.networkaddress.cache.ttl=60',
    '-Des.networkaddress.cache.negative.ttl=10',
    `-Djava.io.tmpdir=${o.tmp}`,
    `-Des.path.home=${o.home}`,
    `-Des.path.conf=${o.config}`,
    '-Des.distribution.type=tar',
    // Entitlements (8.19's replacement of the SecurityManager): ES attaches its agent to itself,
    // and the instrumented JDK methods call the bridge, which has to live in java.base.
    '-XX:+IgnoreUnrecognizedVMOptions',
    '-XX:+EnableDynamicAgentLoading',
    '-Djdk.attach.allowAttachSelf=true',
    `--patch-module=java.base=${o.bridgeJar}`,
    '--add-exports=java.base/org.elasticsearch.entitlement.bridge=org.elasticsearch.entitlement,java.logging,java.net.http,java.naming,jdk.net',
    `-javaagent:${path.join(o.home, 'agent', 'stack-es-agent.jar')}=${path.join(o.config, 'server-args.bin')}`,
    // Like the distribution: the server and its libraries as Java modules.
    '--module-path',
    path.join(o.home, 'lib'),
    '--add-modules=jdk.net',
    '--add-modules=ALL-MODULE-PATH',
    '-m',
    'org.elasticsearch.server/org.elasticsearch.bootstrap.Elasticsearch',
  ];
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

interface RootInfo {
  version?: { number?: string; build_flavor?: string };
}

async function ready(url: string): Promise<string | undefined> {
  const root = await getJson<RootInfo>(`${url}/`);
  const health = await getJson<{ status?: string }>(
    `${url}/_cluster/health?wait_for_status=yellow&timeout=2s`,
  );
  if (health.status !== 'yellow' && health.status !== 'green') return undefined;
  return root.version?.number;
}

/** What the log file got since byte offset `from`. */
function logSince(logFile: string, from: number): string {
  try {
    return fs.readFileSync(logFile).subarray(from).toString('utf8');
  } catch {
    return '';
  }
}

/**
 * Starts the node and waits for GET / and a yellow/green cluster health. HTTP is probed only
 * once the node has logged its bound address: connecting over and over to a closed port in the
 * ephemeral range (as a fallback port from the kernel may be) can end in a TCP self-connect that then
 * holds the port. Should a port be taken between pickPort and the bind, one more try on ports
 * the kernel hands out.
 */
async function launch(
  argv: string[],
  cwd: string,
  logFile: string,
  port: number,
  writeYml: (p: { port: number; transportPort: number }) => Promise<void>,
  env: NodeJS.ProcessEnv,
): Promise<{ url: string; version: string; pid: number }> {
  for (let attempt = 1; ; attempt++) {
    let transportPort = await pickPort(attempt === 1 ? port + 100 : 0);
    if (transportPort === port) transportPort = await pickPort(0);
    await writeYml({ port, transportPort });
    const logStart = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
    const proc = spawnServer({
      name: 'elasticsearch',
      command: argv[0]!,
      args: argv.slice(1),
      cwd,
      env,
      logFile,
    });
    const url = `http://127.0.0.1:${port}`;
    let version: string | undefined;
    try {
      await waitFor(
        'elasticsearch',
        async () => {
          if (!logSince(logFile, logStart).includes(`bound_addresses {127.0.0.1:${port}}`))
            return false;
          version = await ready(url);
          return version !== undefined;
        },
        { process: proc, timeoutMs: 180_000, intervalMs: 500 },
      );
      return { url, version: version ?? ES_VERSION, pid: proc.pid };
    } catch (err) {
      await stopPid(proc.pid);
      const bindFailed = /Address already in use/.test(logSince(logFile, logStart));
      if (!bindFailed || attempt >= 2) throw err;
      say(
        'elasticsearch',
        `port ${port} or ${transportPort} was taken meanwhile; trying other ports`,
      );
      port = await pickPort(0);
    }
  }
}

export const elasticsearch: ServerDefinition = {
  name: 'elasticsearch',
  envKey: 'ELASTICSEARCH_URL',
  async start(): Promise<RunningServer> {
    const logFile = path.join(logDir(), 'elasticsearch.log');
    if (!(await which('java'))) {
      throw new StackError(
        'elasticsearch: java is needed (Java 17 to 23); install a JDK or set ELASTICSEARCH_URL',
      );
    }
    const cached = await install(logFile);
    const as = await runAs(logFile);
    const base = dataDir('elasticsearch');
    const home = serverHome(cached, as, base);
    const config = ensureDir(path.join(base, 'config'));
    const data = ensureDir(path.join(base, 'data'));
    const logs = ensureDir(path.join(base, 'logs'));
    const tmp = ensureDir(path.join(base, 'tmp'));

    const port = await pickPort(Number(process.env.STACK_ELASTICSEARCH_PORT ?? 29200));
    fs.writeFileSync(path.join(config, 'log4j2.properties'), log4j2Properties);
    // elasticsearch.yml, then the serialised ServerArgs the server reads from stdin, made with
    // ES's own classes in a short JVM (from the classpath, where they work before ES's logging
    // is set up; in the server's JVM they could not run before its main).
    const writeYml = async (p: { port: number; transportPort: number }) => {
      fs.writeFileSync(
        path.join(config, 'elasticsearch.yml'),
        elasticsearchYml({ home, data, logs, ...p }),
      );
      await run(
        'java',
        [
          '-Xmx64m',
          '-cp',
          `${path.join(home, 'lib')}/*${path.delimiter}${path.join(home, 'agent', 'stack-es-agent-classes')}`,
          'StackEsArgs',
          config,
          path.join(config, 'server-args.bin'),
        ],
        { logFile, what: 'elasticsearch server args' },
      );
      for (const file of fs.readdirSync(config)) fs.chmodSync(path.join(config, file), 0o644);
    };
    if (as.uid !== undefined && as.gid !== undefined) {
      for (const dir of [data, logs, tmp])
        await run('chown', ['-R', `${as.uid}:${as.gid}`, dir], { logFile });
      for (const dir of [base, config]) fs.chmodSync(dir, 0o755);
    }
    const bridgeDir = path.join(home, 'lib', 'entitlement-bridge');
    const bridgeJar = path.join(
      bridgeDir,
      fs.readdirSync(bridgeDir).find((f) => f.endsWith('.jar')) ?? 'missing.jar',
    );
    const argv = [...as.prefix, 'java', ...jvmArgs({ home, config, tmp, bridgeJar })];
    // The distribution's launcher sets LIBFFI_TMPDIR (checked by the server) to its temp dir.
    const env = { ...process.env, ES_TMPDIR: tmp, LIBFFI_TMPDIR: tmp };
    const started = await launch(argv, base, logFile, port, writeYml, env);
    return {
      name: 'elasticsearch',
      version: `Elasticsearch ${started.version}`,
      env: { ELASTICSEARCH_URL: started.url },
      pid: started.pid,
      logFile,
    };
  },
  async probe(server) {
    return (await ready(server.env.ELASTICSEARCH_URL!)) !== undefined;
  },
};
