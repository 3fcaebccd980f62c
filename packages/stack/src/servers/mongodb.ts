import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  cacheDir,
  dataDir,
  ensureDir,
  logDir,
  pickPort,
  run,
  say,
  spawnServer,
  StackError,
  waitFor,
  which,
  withLock,
  type ServerDefinition,
} from '../core';

/**
 * FerretDB v1.24.0, the last v1 release: a MongoDB wire-protocol server on SQLite, so no
 * MongoDB binaries (SSPL, not in the registries) are needed. v2 requires PostgreSQL with the
 * DocumentDB extension, which the stack does not build.
 */
const FERRETDB_VERSION = 'v1.24.0';

/** Our small main embedding FerretDB's `ferretdb` package (go.mod pins the version above). */
const SOURCE_DIR = path.resolve(__dirname, '..', '..', 'go', 'ferretdb');

function sourceHash(): string {
  const hash = crypto.createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'main.go'])
    hash.update(fs.readFileSync(path.join(SOURCE_DIR, file)));
  return hash.digest('hex');
}

/** Builds the FerretDB binary once into the cache (again only when our Go sources change). */
async function ferretdbBinary(logFile: string): Promise<string> {
  const dir = path.join(cacheDir(), `ferretdb-${FERRETDB_VERSION}`);
  const binary = path.join(dir, 'ferretdb');
  const stamp = path.join(dir, 'source.sha256');
  const hash = sourceHash();
  const built = () =>
    fs.existsSync(binary) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === hash;
  if (built()) return binary;
  return withLock(`ferretdb-${FERRETDB_VERSION}`, async () => {
    if (built()) return binary;
    if (!(await which('go'))) {
      throw new StackError(
        'mongodb: FerretDB is built from source and needs Go (https://go.dev/dl); or set MONGODB_URL',
      );
    }
    ensureDir(dir);
    const started = Date.now();
    say('mongodb', `building FerretDB ${FERRETDB_VERSION} with go (first run only, about 2 min)`);
    const tmp = `${binary}.${process.pid}.tmp`;
    await run('go', ['build', '-trimpath', '-o', tmp, '.'], {
      logFile,
      cwd: SOURCE_DIR,
      env: { ...process.env, GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=mod`.trim() },
      what: `go build of FerretDB ${FERRETDB_VERSION}`,
    });
    fs.renameSync(tmp, binary);
    fs.writeFileSync(stamp, hash);
    say('mongodb', `built FerretDB in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return binary;
  });
}

/** Pings the server with the official driver; returns buildInfo when it answers. */
async function buildInfo(url: string): Promise<{ version: string; ferretdbVersion?: string }> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000 });
  try {
    await client.db('admin').command({ ping: 1 });
    return (await client.db('admin').command({ buildInfo: 1 })) as {
      version: string;
      ferretdbVersion?: string;
    };
  } finally {
    await client.close();
  }
}

/** MongoDB-compatible FerretDB v1 with the SQLite backend, data under `.stack/data/mongodb`. */
export const mongodb: ServerDefinition = {
  name: 'mongodb',
  envKey: 'MONGODB_URL',
  async start() {
    const logFile = path.join(logDir(), 'mongodb.log');
    const binary = await ferretdbBinary(logFile);
    const port = await pickPort(Number(process.env.STACK_MONGODB_PORT ?? 27117));
    const url = `mongodb://127.0.0.1:${port}/`;
    const proc = spawnServer({
      name: 'mongodb',
      command: binary,
      args: ['-listen', `127.0.0.1:${port}`, '-sqlite', dataDir('mongodb')],
      logFile,
    });
    let info: { version: string; ferretdbVersion?: string } | undefined;
    await waitFor(
      'mongodb',
      async () => {
        info = await buildInfo(url);
        return true;
      },
      { process: proc, timeoutMs: 60_000 },
    );
    return {
      name: 'mongodb',
      version: `FerretDB ${info?.ferretdbVersion ?? FERRETDB_VERSION} (MongoDB ${info?.version ?? '?'})`,
      env: { MONGODB_URL: url },
      pid: proc.pid,
      logFile,
    };
  },
  async probe(server) {
    await buildInfo(server.env.MONGODB_URL!);
    return true;
  },
};
