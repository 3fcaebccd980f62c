/**
 * The UGC pipeline of the e2e tests, in the test's process: ugc-collector, ugc-etl (its loader
 * started, its API listening) and, when asked, catalog-api over a small catalog indexed for the
 * run. Each service is built by its own wiring from its own config, as its main.ts does, on the
 * stack's Kafka, ClickHouse (else an embedded chDB folder), Elasticsearch and Redis, under names
 * of the run's own; one lifecycle per service closes its adapters (drain first) on `close()`,
 * which also drops what the run made (topics, ClickHouse database, indices, Redis keys).
 */
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import type { Express } from 'express';
import { Redis } from 'ioredis';
import { createClickHouse } from '@cinema/clickhouse';
import { Lifecycle } from '@cinema/http';
import { createLogger } from '@cinema/logging';
import { deleteTopicsWithPrefix, suffix as newSuffix, type TestIssuer } from '@cinema/testing';
import { buildApp as buildCatalog } from '../../services/catalog-api/src/app';
import { readConfig as catalogConfig } from '../../services/catalog-api/src/config';
import { wire as wireCatalog } from '../../services/catalog-api/src/wiring';
import { generateCatalog, IndexedCatalog } from '../../services/catalog-api/test/catalog-fixture';
import { buildApp as buildCollector } from '../../services/ugc-collector/src/app';
import { readConfig as collectorConfig } from '../../services/ugc-collector/src/config';
import { wire as wireCollector } from '../../services/ugc-collector/src/wiring';
import { buildApp as buildEtl } from '../../services/ugc-etl/src/app';
import { readConfig as etlConfig } from '../../services/ugc-etl/src/config';
import {
  wire as wireEtl,
  type Dependencies as EtlDependencies,
} from '../../services/ugc-etl/src/wiring';

type Env = Record<string, string | undefined>;

export interface PipelineOptions {
  /** The run's Kafka client ids (`<name>`, `<name>-catalog`, `<name>-etl`) and consumer group. */
  name: string;
  /** A short word (letters, digits) in the run's topics, indices, Redis keys and database. */
  tag: string;
  /** The run's random suffix (a new one when left out). */
  suffix?: string;
  /** How all three services check tokens: `issuerEnv(issuer)`, or `{ AUTH_URL }` of a real auth. */
  auth: Env;
  /** More of ugc-collector's environment (BODY_LIMIT, ...). */
  collectorEnv?: Env;
  /** More of ugc-etl's environment (AUTH_URL of the analytics page's login API, ...). */
  etlEnv?: Env;
  /** catalog-api over a catalog of this size, indexed in Elasticsearch for the run. */
  catalog?: Parameters<typeof generateCatalog>[0];
}

export interface Served {
  /** `http://127.0.0.1:<port>` */
  url: string;
  server: Server;
}

export interface Pipeline {
  suffix: string;
  /** The run's Kafka topic prefix. */
  topicPrefix: string;
  collector: Served;
  etl: Served & { app: Express; deps: EtlDependencies };
  /** With `options.catalog`: catalog-api and the catalog it serves. */
  catalog?: Served & { index: IndexedCatalog };
  /** Stops the services and drops what the run made; safe to call more than once. */
  close(): Promise<void>;
}

/** The environment that makes the services check tokens against a test issuer's JWKS. */
export const issuerEnv = (issuer: TestIssuer): Env => ({
  AUTH_JWKS_URL: issuer.jwksUrl,
  JWT_ISSUER: issuer.issuer,
  JWT_AUDIENCE: issuer.audience,
});

const listen = (app: Express) =>
  new Promise<Served>((resolve) => {
    const server = app.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    );
  });

/** Starts the pipeline; when a step fails, what was started is closed before the error. */
export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  const sfx = options.suffix ?? newSuffix();
  const { name, tag } = options;
  const topicPrefix = `e2e-${tag}-${sfx}.`;
  const esPrefix = `e2e-${tag}-${sfx}-`;
  const keyPrefix = `e2e-${tag}:${sfx}:`;
  const database = `ugc_${tag}_${sfx}`;
  const chdbPath = path.join(os.tmpdir(), `cinema-${tag}-chdb-${process.pid}-${sfx}`);
  const logger = createLogger({ service: name, level: 'silent' });
  const servers: Server[] = [];
  const lives: Lifecycle[] = [];
  const life = () => {
    const lifecycle = new Lifecycle(logger);
    lives.push(lifecycle);
    return lifecycle;
  };
  let es: Client | undefined;
  let redis: Redis | undefined;
  let index: IndexedCatalog | undefined;
  let closed: Promise<void> | undefined;

  const drop = async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    for (const l of lives.splice(0)) await l.shutdown('test done');
    // The run's ClickHouse database: a server's is dropped, an embedded one's folder removed.
    if (process.env.CLICKHOUSE_URL) {
      const ch = createClickHouse({ url: process.env.CLICKHOUSE_URL });
      await ch.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      await ch.close();
    } else fs.rmSync(chdbPath, { recursive: true, force: true });
    if (index) await index.drop();
    if (redis) {
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
    await es?.close();
    await deleteTopicsWithPrefix(topicPrefix);
  };
  const close = () => (closed ??= drop());

  try {
    const common = {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      KAFKA_TOPIC_PREFIX: topicPrefix,
      KAFKA_TOPIC_PARTITIONS: '1',
      KAFKA_TOPIC_REPLICATION: '1',
      ...options.auth,
    };
    let catalog: Pipeline['catalog'];
    if (options.catalog) {
      es = new Client({ node: process.env.ELASTICSEARCH_URL! });
      redis = new Redis(process.env.REDIS_URL!, { lazyConnect: true });
      await redis.connect();
      index = new IndexedCatalog(
        es,
        esPrefix,
        redis,
        `${keyPrefix}generation`,
        generateCatalog(options.catalog),
      );
      await index.load();
      const served = await listen(
        buildCatalog(
          await wireCatalog({
            config: catalogConfig({
              ...common,
              KAFKA_CLIENT_ID: `${name}-catalog`,
              ELASTICSEARCH_URL: process.env.ELASTICSEARCH_URL,
              ES_INDEX_PREFIX: esPrefix,
              REDIS_URL: process.env.REDIS_URL,
              CACHE_KEY_PREFIX: `${keyPrefix}cache:`,
              CACHE_GENERATION_KEY: `${keyPrefix}generation`,
            }),
            logger,
            lifecycle: life(),
          }),
        ),
      );
      servers.push(served.server);
      catalog = { ...served, index };
    }

    const collector = await listen(
      buildCollector(
        await wireCollector({
          config: collectorConfig({ ...common, KAFKA_CLIENT_ID: name, ...options.collectorEnv }),
          logger,
          lifecycle: life(),
        }),
      ),
    );
    servers.push(collector.server);

    const deps = await wireEtl({
      config: etlConfig({
        ...common,
        KAFKA_CLIENT_ID: `${name}-etl`,
        KAFKA_GROUP_ID: `${name}-${sfx}`,
        CLICKHOUSE_URL: process.env.CLICKHOUSE_URL,
        CHDB_PATH: chdbPath,
        CLICKHOUSE_DATABASE: database,
        BATCH_MAX_ROWS: '1000',
        BATCH_MAX_WAIT_MS: '100',
        ...options.etlEnv,
      }),
      logger,
      lifecycle: life(),
    });
    await deps.loader.start();
    const app = buildEtl(deps);
    const etl = await listen(app);
    servers.push(etl.server);

    return { suffix: sfx, topicPrefix, collector, etl: { ...etl, app, deps }, catalog, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
