/**
 * Faults under a steady stream of events: a private Kafka broker (never the shared one) is
 * stopped and restarted, and the ETL process is killed (SIGKILL) and restarted. Every event the
 * collector answered 202 must be in ClickHouse exactly once. Events answered 503 are sent again
 * with the same event ids, as the player does. The collector and the ETL's analytics API are
 * called through their generated clients (@cinema/clients); a POST is sent once by the client,
 * so every resend is the test's own, as before.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createServiceClient, type Schemas } from '@cinema/clients';
import { createLogger } from '@cinema/logging';
import { Lifecycle } from '@cinema/http';
import { pickPort, repoRoot, startPrivateServer, stopPid, type RunningServer } from '@cinema/stack';
import { startTestIssuer, type TestIssuer } from '@cinema/testing';
import { buildApp as buildCollector } from '../../services/ugc-collector/src/app';
import { readConfig as collectorConfig } from '../../services/ugc-collector/src/config';
import { wire as wireCollector } from '../../services/ugc-collector/src/wiring';

jest.setTimeout(360_000);

const root = repoRoot();
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cinema-ugc-fault-'));
const logger = createLogger({ service: 'ugc-fault', level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The stack's Kafka definition under a private STACK_HOME and port. */
const startPrivateKafka = (port: number): Promise<RunningServer> =>
  startPrivateServer('kafka', home, { STACK_KAFKA_PORT: String(port) });

describe('UGC pipeline under faults', () => {
  let broker: RunningServer | undefined;
  let brokers: string;
  let issuer: TestIssuer;
  // The collector is built by its own wiring (as main.ts does); its lifecycle closes the producer.
  const collectorLife = new Lifecycle(logger);
  let server: Server;
  let etl: ChildProcess | undefined;
  let etlPort: number;
  const chdbPath = path.join(home, 'chdb');
  const etlLog = path.join(home, 'ugc-etl.log');

  function startEtl(): ChildProcess {
    const out = fs.openSync(etlLog, 'a');
    const child = spawn(process.execPath, [path.join(root, 'services/ugc-etl/dist/main.js')], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: String(etlPort),
        // kafkajs's group joins and assignments too: printed below when events are missing.
        LOG_LEVEL: 'info',
        KAFKA_LOG_LEVEL: 'info',
        KAFKA_BROKERS: brokers,
        KAFKA_GROUP_ID: 'ugc-etl-fault',
        KAFKA_TOPIC_PARTITIONS: '3',
        CHDB_PATH: chdbPath,
        BATCH_MAX_WAIT_MS: '200',
        AUTH_JWKS_URL: issuer.jwksUrl,
        SHUTDOWN_TIMEOUT_MS: '5000',
      },
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    return child;
  }

  beforeAll(async () => {
    // The ETL runs as its own process (it is killed below): build it first.
    execFileSync('node', [path.join(root, 'scripts/tsoa.mjs'), 'services/ugc-etl'], { cwd: root });
    execFileSync(path.join(root, 'node_modules/.bin/tsc'), ['-b', 'services/ugc-etl'], {
      cwd: root,
    });
    issuer = await startTestIssuer();
    broker = await startPrivateKafka(await pickPort(0));
    brokers = broker.env.KAFKA_BROKERS!;
    // Anonymous viewers only (no JWKS), three partitions, a short Kafka acknowledgement timeout.
    const app = buildCollector(
      await wireCollector({
        config: collectorConfig({
          KAFKA_BROKERS: brokers,
          KAFKA_CLIENT_ID: 'ugc-fault-collector',
          KAFKA_TOPIC_PARTITIONS: '3',
          KAFKA_TOPIC_REPLICATION: '1',
          KAFKA_ACK_TIMEOUT_MS: '3000',
          KAFKA_MAX_PENDING: '100000',
          BODY_LIMIT: '1mb',
        }),
        logger,
        lifecycle: collectorLife,
      }),
    );
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    etlPort = await pickPort(0);
  });

  afterAll(async () => {
    if (etl?.pid) await stopPid(etl.pid, 5_000);
    await new Promise((r) => server?.close(r));
    await collectorLife.shutdown('test done');
    if (broker?.pid) await stopPid(broker.pid);
    await issuer?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('keeps every 202 event exactly once through a broker restart and an ETL kill', async () => {
    const film = randomUUID();
    const { port } = server.address() as AddressInfo;
    const acked = new Set<string>();
    const generated = new Set<string>();
    const retry: Array<Schemas<'ugc-collector'>['PauseBatchItem']> = [];
    const collector = createServiceClient('ugc-collector', { baseUrl: `http://127.0.0.1:${port}` });
    const statuses: Record<string, number> = {};
    let sending = true;

    etl = startEtl();

    // Four senders, each a batch of 10 pauses per request, resending what got no 202.
    const sender = async (n: number) => {
      let i = 0;
      while (sending || retry.length) {
        const events = retry.splice(0, 10);
        while (sending && events.length < 10) {
          const event = {
            type: 'pause' as const,
            event_id: randomUUID(),
            film_id: film,
            position_sec: (n * 1000 + i++) % 7200,
            client_time: new Date().toISOString(),
          };
          generated.add(event.event_id);
          events.push(event);
        }
        if (!events.length) break;
        let status = 0;
        try {
          const { response } = await collector.POST('/api/events', {
            params: { header: { 'X-Anonymous-Id': `sender-${n}-0000` } },
            body: { events },
          });
          status = response.status;
        } catch {
          status = -1;
        }
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status === 202) events.forEach((e) => acked.add(e.event_id));
        else {
          retry.push(...events);
          await sleep(300);
        }
        await sleep(20);
      }
    };
    const senders = [0, 1, 2, 3].map(sender);

    await sleep(4_000);
    const beforeOutage = acked.size;
    await stopPid(broker!.pid!); // the broker goes away...
    await sleep(3_000);
    broker = await startPrivateKafka(Number(brokers.split(':')[1])); // ...and comes back
    expect(broker.env.KAFKA_BROKERS).toBe(brokers);
    await sleep(4_000);
    etl.kill('SIGKILL'); // the ETL dies mid-stream...
    await sleep(1_000);
    etl = startEtl(); // ...and restarts
    const restarted = Date.now();
    await sleep(4_000);
    sending = false;
    await Promise.all(senders);

    expect(beforeOutage).toBeGreaterThan(0);
    expect(statuses[503] ?? 0).toBeGreaterThan(0); // the outage was seen, answered 503
    expect(acked.size).toBe(generated.size); // every event got its 202 in the end

    const analyst = await issuer.token(randomUUID(), ['admin']);
    // One read of every event while the restarted ETL loads the backlog can take long on a loaded
    // machine: a generous timeout and no retries (a timed-out read still runs on the ETL, and each
    // retry would add another), the loop below asks again.
    const analytics = createServiceClient('ugc-etl', {
      baseUrl: `http://127.0.0.1:${etlPort}`,
      timeoutMs: 60_000,
      retries: 0,
    });
    // Why the last read got no list (printed when events are missing).
    let unread: string | undefined;
    let slowest = 0;
    const stored = async (): Promise<string[]> => {
      const started = Date.now();
      try {
        const { data, response } = await analytics.GET('/api/v1/analytics/films/{filmId}/events', {
          params: { path: { filmId: film }, query: { limit: 100_000 } },
          headers: { authorization: `Bearer ${analyst}` },
        });
        if (response.status !== 200) {
          unread = `answered ${response.status}`;
          return [];
        }
        unread = undefined;
        return data!.pauses.map((p) => p.event_id);
      } catch (err) {
        unread = String(err);
        return [];
      } finally {
        slowest = Math.max(slowest, Date.now() - started);
      }
    };
    // The restarted ETL gets every partition only once the killed one's last group member times
    // out: its join, sent while the broker was still loading the group, was pending when it was
    // killed, so the new member's first generation (about 23 s after the restart) hands that
    // ghost part of the partitions, which come back 30 s later (the session timeout). All listed
    // 56-57 s after the restart in five local runs, 97 and 137 s in two CI simulations; a CI run
    // once still had most missing at 274 s, hence the group joins in the ETL's log printed below
    // (jest's limit is 360 s for the test).
    let ids: string[] = [];
    const deadline = Date.now() + 270_000;
    while (Date.now() < deadline) {
      ids = await stored();
      if (ids.length >= acked.size) break;
      await sleep(500);
    }
    const listedAfter = Date.now() - restarted;
    const missing = [...acked].filter((id) => !ids.includes(id));
    if (missing.length) {
      process.stderr.write(
        `fault test: ${missing.length} of ${acked.size} missing; last read: ${unread ?? 'ok'}, ` +
          `${ids.length} listed; slowest read ${slowest} ms; ` +
          `${Math.round(listedAfter / 1000)} s after the ETL restart\n`,
      );
      // The ETL's own account (group joins with their partitions, rejoins, crashes) before its
      // folder is removed; the access-log lines of the reads above are left out.
      const lines = fs
        .readFileSync(etlLog, 'utf8')
        .trim()
        .split('\n')
        .filter((l) => !l.includes('"responseTime"') && !l.includes('ECONNREFUSED'));
      process.stderr.write(
        `ugc-etl log without reads and refused connects, last 40 of ${lines.length} lines:\n`,
      );
      process.stderr.write(`${lines.slice(-40).join('\n')}\n`);
    }
    expect(missing).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length); // exactly once
    expect(ids.length).toBe(acked.size);
    process.stderr.write(
      `fault test: ${acked.size} events acknowledged and stored once; answers ${JSON.stringify(statuses)}; ` +
        `slowest read ${slowest} ms; all listed ${Math.round(listedAfter / 1000)} s after the ETL restart\n`,
    );
  });
});
