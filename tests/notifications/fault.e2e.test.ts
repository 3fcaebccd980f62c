/**
 * A 10,000-recipient e-mail campaign under faults, with the service as its own process
 * (`src/main.ts`), a private RabbitMQ (never the shared one), the stack's PostgreSQL and MailDev:
 *   1. RabbitMQ is stopped and started again mid-run: the campaign goes on (it runs on
 *      PostgreSQL), and the service's consumers reconnect (a user.registered published after
 *      the restart gets its welcome mail);
 *   2. the process is stopped (SIGTERM, as Kubernetes does) and started again: the sends in
 *      flight finish first, so no mail has gone twice at that point;
 *   3. the process is killed (SIGKILL) and started again: its claimed deliveries come back after
 *      the lease.
 * At the end every recipient has its mail in the catcher. A SIGKILL can land between the SMTP
 * server's "250 queued" and the database's "sent": those few (at most the sends in flight) are
 * sent again with the same Message-ID, which the test checks.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import amqp from 'amqplib';
import { createPool } from '@cinema/pg';
import {
  pickPort,
  repoRoot,
  startPrivateServer,
  stopPrivateServer,
  type RunningServer,
} from '@cinema/stack';
import {
  startServiceMain,
  startTestIssuer,
  suffix,
  waitFor,
  type ServiceProcess,
  type TestIssuer,
} from '@cinema/testing';

jest.setTimeout(600_000);

const N = 10_000;
const CONCURRENCY = 8;
const root = repoRoot();
const sfx = suffix();
const schema = `notif_fault_${sfx}`;
const title = `Fault run ${sfx}`;
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cinema-notif-fault-'));
const catcher = () => process.env.MAILCATCHER_URL!.replace(/\/+$/, '');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Mail {
  id: string;
  subject: string;
  to: Array<{ address: string }>;
  headers: Record<string, string>;
}

/** The catcher's mails with this run's subject (MailDev filters by query). */
async function caught(subject: string): Promise<Mail[]> {
  const res = await fetch(`${catcher()}/email?subject=${encodeURIComponent(subject)}`);
  if (!res.ok) throw new Error(`mail catcher answered ${res.status}`);
  return ((await res.json()) as Mail[]).map((m) => ({
    id: m.id,
    subject: m.subject,
    to: m.to,
    headers: m.headers,
  }));
}

describe('a 10,000-recipient campaign through a RabbitMQ restart, a stop and a kill', () => {
  let issuer: TestIssuer;
  let rabbit: RunningServer;
  let rabbitPorts: Record<string, string>;
  let port: number;
  let svc: ServiceProcess | undefined;
  const pool = createPool(process.env.DATABASE_URL!, { max: 2 });
  const logs: string[] = [];

  const env = () => ({
    DATABASE_URL: process.env.DATABASE_URL,
    NOTIFICATIONS_DB_SCHEMA: schema,
    NOTIFICATIONS_QUEUE_PREFIX: `notifications.fault.${sfx}`,
    AUTH_EVENTS_EXCHANGE: `auth.events.fault.${sfx}`,
    CATALOG_EVENTS_EXCHANGE: `catalog.events.fault.${sfx}`,
    UGC_EVENTS_EXCHANGE: `ugc.events.fault.${sfx}`,
    AMQP_URL: rabbit.env.AMQP_URL,
    SMTP_URL: process.env.SMTP_URL,
    AUTH_JWKS_URL: issuer.jwksUrl,
    UNSUBSCRIBE_SECRET: 'fault-test-unsubscribe-secret-0123456789',
    EMAIL_RATE_PER_SECOND: '400',
    EMAIL_CONCURRENCY: String(CONCURRENCY),
    DELIVERY_LEASE_SECONDS: '8',
    DELIVERY_POLL_MS: '200',
    CAMPAIGN_POLL_SECONDS: '0.5',
    SHUTDOWN_TIMEOUT_MS: '20000',
    LOG_LEVEL: 'warn',
    OTEL_SDK_DISABLED: 'true',
  });

  async function startService(): Promise<void> {
    if (svc) logs.push(svc.output());
    svc = await startServiceMain(path.join(root, 'services/notifications'), env(), {
      port,
      readyMs: 90_000,
    });
  }

  async function api(method: string, route: string, body?: unknown): Promise<Response> {
    const token = await issuer.token(randomUUID(), ['admin']);
    return fetch(`http://127.0.0.1:${port}/api/v1/notifications${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /** Progress as the database has it (the process may be down). */
  async function sent(campaignId: string): Promise<number> {
    const r = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${schema}".deliveries WHERE campaign_id = $1 AND status = 'sent'`,
      [campaignId],
    );
    return r.rows[0]!.n;
  }

  beforeAll(async () => {
    issuer = await startTestIssuer();
    rabbitPorts = {
      STACK_RABBITMQ_PORT: String(await pickPort(0)),
      STACK_RABBITMQ_DIST_PORT: String(await pickPort(0)),
      STACK_RABBITMQ_EPMD_PORT: String(await pickPort(0)),
    };
    rabbit = await startPrivateServer('rabbitmq', home, rabbitPorts);
    port = await pickPort(0);
    await startService();
    // The audience: the service's own projection of users (as auth's events would fill it).
    await pool.query(
      `INSERT INTO "${schema}".recipients (user_id, email, email_verified)
       SELECT gen_random_uuid(), 'fault-' || $2 || '-' || i || '@example.test', true
       FROM generate_series(1, $1) i`,
      [N, sfx],
    );
  });

  afterAll(async () => {
    await svc?.stop('SIGKILL');
    if (rabbit?.pid) await stopPrivateServer(home, rabbit).catch(() => undefined);
    await issuer?.close();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}_jobs" CASCADE`);
    await pool.end();
    // This run's mails out of the shared catcher (by id: other tests' mails stay).
    const mine = await caught(title).catch(() => [] as Mail[]);
    for (let i = 0; i < mine.length; i += 50) {
      await Promise.all(
        mine
          .slice(i, i + 50)
          .map((m) => fetch(`${catcher()}/email/${m.id}`, { method: 'DELETE' }).catch(() => null)),
      );
    }
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('sends every recipient its mail; only a SIGKILL mid-send repeats one, with its Message-ID', async () => {
    const created = await api('POST', '/campaigns', {
      title,
      category: 'new_films',
      channels: ['email'],
      template: 'message',
      vars: { title, body: 'A campaign under faults.' },
      audience: { kind: 'everyone' },
    });
    expect(created.status).toBe(201);
    const campaign = (await created.json()) as { id: string; total: number };
    expect(campaign.total).toBe(N);

    // 1. RabbitMQ goes away and comes back on the same port while mails go out.
    await waitFor(async () => (await sent(campaign.id)) >= 1_500, 180_000, '1,500 sent');
    await stopPrivateServer(home, rabbit);
    const duringOutage = await sent(campaign.id);
    await sleep(3_000);
    expect(await sent(campaign.id)).toBeGreaterThan(duringOutage); // the campaign did not stop
    rabbit = await startPrivateServer('rabbitmq', home, rabbitPorts);
    // The consumers reconnect: a welcome mail for a user registered after the restart.
    const welcome = `fault-welcome-${sfx}@example.test`;
    const conn = await amqp.connect(rabbit.env.AMQP_URL!);
    try {
      const channel = await conn.createConfirmChannel();
      const messageId = randomUUID();
      const userId = randomUUID();
      await waitFor(
        async () => {
          // Republished with one message id until it shows: the service takes it once.
          try {
            await channel.checkExchange(`auth.events.fault.${sfx}`);
          } catch {
            return false;
          }
          channel.publish(
            `auth.events.fault.${sfx}`,
            'user.registered',
            Buffer.from(
              JSON.stringify({
                user_id: userId,
                email: welcome,
                first_name: 'Fault',
                last_name: null,
                method: 'password',
                email_verified: true,
              }),
            ),
            { persistent: true, contentType: 'application/json', messageId },
          );
          await channel.waitForConfirms();
          const res = await fetch(`${catcher()}/email?to.address=${encodeURIComponent(welcome)}`);
          return ((await res.json()) as Mail[]).length > 0;
        },
        90_000,
        'the welcome mail after the RabbitMQ restart',
      );
    } finally {
      await conn.close().catch(() => undefined);
    }

    // 2. A stop (SIGTERM): the sends in flight finish and are recorded; then a new process.
    await waitFor(async () => (await sent(campaign.id)) >= 4_000, 180_000, '4,000 sent');
    expect(await svc!.stop('SIGTERM')).toBe(0);
    const recorded = await sent(campaign.id);
    let afterStop: Mail[] = [];
    await waitFor(
      async () => (afterStop = await caught(title)).length >= recorded,
      30_000,
      'the mails sent before the stop',
    );
    expect(afterStop.length).toBe(recorded); // every recorded send arrived, and no other
    expect(new Set(afterStop.map((m) => m.to[0]!.address)).size).toBe(recorded); // none twice
    await startService();

    // 3. A kill (SIGKILL) mid-send; the new process takes over after the 8 s lease.
    await waitFor(async () => (await sent(campaign.id)) >= 7_000, 180_000, '7,000 sent');
    await svc!.stop('SIGKILL');
    await startService();

    await waitFor(
      async () => {
        const res = await api('GET', `/campaigns/${campaign.id}/progress`);
        if (res.status !== 200) return false;
        const p = (await res.json()) as { state: string; sent: number };
        return p.state === 'finished' && p.sent === N;
      },
      300_000,
      'the campaign to finish',
    );
    const progress = (await (await api('GET', `/campaigns/${campaign.id}/progress`)).json()) as {
      sent: number;
      failed: number;
      queued: number;
    };
    expect(progress).toMatchObject({ sent: N, failed: 0, queued: 0 });

    // Every recipient has its mail (the catcher may still be taking the last ones).
    let mails: Mail[] = [];
    await waitFor(
      async () => {
        mails = await caught(title);
        return new Set(mails.map((m) => m.to[0]!.address)).size === N;
      },
      60_000,
      'every recipient in the catcher',
    );
    const byAddress = new Map<string, Mail[]>();
    for (const m of mails) {
      const address = m.to[0]!.address;
      expect(address).toMatch(new RegExp(`^fault-${sfx}-\\d+@example\\.test$`));
      byAddress.set(address, [...(byAddress.get(address) ?? []), m]);
    }
    expect(byAddress.size).toBe(N);
    const repeated = [...byAddress.values()].filter((copies) => copies.length > 1);
    // Only the SIGKILL can repeat a mail: at most the sends that were in flight, each once more,
    // with the Message-ID of its delivery.
    expect(repeated.length).toBeLessThanOrEqual(CONCURRENCY);
    for (const copies of repeated) {
      expect(copies).toHaveLength(2);
      expect(copies[0]!.headers['message-id']).toMatch(/^<delivery-\d+@/);
      expect(copies[1]!.headers['message-id']).toBe(copies[0]!.headers['message-id']);
    }
    console.log(
      `fault run: ${N} recipients, ${mails.length} mails, ${repeated.length} sent again after the SIGKILL`,
    );
  });
});
