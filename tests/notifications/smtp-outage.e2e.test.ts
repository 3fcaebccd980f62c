/**
 * The SMTP relay down for a minute, with auth and notifications as their own processes (real
 * entry points) on the stack's PostgreSQL, Redis, RabbitMQ and MailDev. Between notifications
 * and MailDev sits a TCP relay the test shuts (connections refused) for 60 s:
 *   - "patient" (DELIVERY_MAX_ATTEMPTS 6: tries at 0, 5, 15, 35, 75 s): its campaign's mails are
 *     retried through the outage and all arrive, once each;
 *   - "impatient" (DELIVERY_MAX_ATTEMPTS 2): its deliveries are `failed` with the reason before
 *     the relay is back; an admin logged in through auth sees them and the reason in the panel,
 *     and retries them from the panel once the relay is back: they arrive, once each.
 * Own names: auth schema, Redis prefix, exchanges, notification schemas; removed in afterAll.
 */
import { execFileSync } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import * as path from 'node:path';
import request from 'supertest';
import { createPool } from '@cinema/pg';
import {
  freePort,
  startServiceMain,
  suffix,
  TSX,
  waitFor,
  type ServiceProcess,
} from '@cinema/testing';

jest.setTimeout(420_000);

const root = path.resolve(__dirname, '../..');
const sfx = suffix();
const authSchema = `auth_e2e_smtp_${sfx}`;
const admin = { email: `admin-smtp-${sfx}@example.com`, password: 'admin password 12345' };
const RECIPIENTS = 12;
const catcher = () => process.env.MAILCATCHER_URL!.replace(/\/+$/, '');
const pool = createPool(process.env.DATABASE_URL!, { max: 2 });

interface Mail {
  id: string;
  to: Array<{ address: string }>;
}

/** A TCP relay to MailDev's SMTP port that can refuse connections (the relay is "down"). */
class Relay {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  async up(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', () => r()));
  }

  /** Stops listening and cuts every open connection (the pooled ones too). */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((r) => server.close(r));
  }
}

const procs: Record<string, ServiceProcess> = {};
const urls: Record<string, string> = {};

async function start(name: string, dir: string, env: Record<string, string | undefined>) {
  procs[name] = await startServiceMain(path.join(root, dir), { OTEL_SDK_DISABLED: 'true', ...env });
  urls[name] = procs[name]!.url;
}

const authEnv = {
  DATABASE_URL: process.env.DATABASE_URL,
  REDIS_URL: process.env.REDIS_URL,
  AMQP_URL: process.env.AMQP_URL,
  AUTH_DB_SCHEMA: authSchema,
  RATE_LIMIT_PREFIX: `auth:e2e:smtp:${sfx}`,
  AUTH_EVENTS_EXCHANGE: `auth.events.e2e.smtp.${sfx}`,
  ARGON2_MEMORY_KIB: '4096',
  ARGON2_TIME_COST: '1',
};

const notificationsEnv = (name: string, relayPort: number, maxAttempts: number) => ({
  DATABASE_URL: process.env.DATABASE_URL,
  AMQP_URL: process.env.AMQP_URL,
  NOTIFICATIONS_DB_SCHEMA: `notif_smtp_${name}_${sfx}`,
  NOTIFICATIONS_QUEUE_PREFIX: `notifications.smtp.${name}.${sfx}`,
  AUTH_EVENTS_EXCHANGE: `auth.events.e2e.smtp.${sfx}`,
  CATALOG_EVENTS_EXCHANGE: `catalog.events.e2e.smtp.${name}.${sfx}`,
  UGC_EVENTS_EXCHANGE: `ugc.events.e2e.smtp.${name}.${sfx}`,
  AUTH_URL: urls.auth,
  SMTP_URL: `smtp://127.0.0.1:${relayPort}`,
  UNSUBSCRIBE_SECRET: 'smtp-outage-unsubscribe-secret-0123456789',
  EMAIL_RATE_PER_SECOND: '0',
  DELIVERY_MAX_ATTEMPTS: String(maxAttempts),
  DELIVERY_POLL_MS: '200',
  CAMPAIGN_POLL_SECONDS: '0.5',
});

async function mailsOf(name: string): Promise<Mail[]> {
  const res = await fetch(`${catcher()}/email?subject=${encodeURIComponent(`Outage ${sfx}`)}`);
  const all = (await res.json()) as Mail[];
  return all.filter((m) => m.to[0]!.address.startsWith(`smtp-${name}-${sfx}-`));
}

/** An admin's session in notifications' panel, logged in through auth. */
async function panel(name: string) {
  const agent = request.agent(urls[name]!);
  const page = await agent.get('/notifications/admin/login');
  expect(page.status).toBe(200);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
  const login = await agent
    .post('/notifications/admin/login')
    .type('form')
    .send({ _csrf: csrf, email: admin.email, password: admin.password });
  expect(login.status).toBe(303);
  return { agent, csrf };
}

describe('SMTP down for a minute', () => {
  let relay: Relay;

  beforeAll(async () => {
    const smtp = new URL(process.env.SMTP_URL!);
    relay = new Relay(await freePort(), { host: smtp.hostname, port: Number(smtp.port) });
    await relay.up();
    await start('auth', 'services/auth', authEnv);
    execFileSync(
      TSX,
      ['src/cli.ts', 'createsuperuser', '--email', admin.email, '--password-stdin'],
      {
        cwd: path.join(root, 'services/auth'),
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...authEnv, LOG_LEVEL: 'warn' },
        input: `${admin.password}\n`,
      },
    );
    await Promise.all([
      start('patient', 'services/notifications', notificationsEnv('patient', relay.port, 6)),
      start('impatient', 'services/notifications', notificationsEnv('impatient', relay.port, 2)),
    ]);
    for (const name of ['patient', 'impatient']) {
      await pool.query(
        `INSERT INTO "notif_smtp_${name}_${sfx}".recipients (user_id, email, email_verified)
         SELECT gen_random_uuid(), 'smtp-' || $2 || '-' || $3 || '-' || i || '@example.test', true
         FROM generate_series(1, $1) i`,
        [RECIPIENTS, name, sfx],
      );
    }
  });

  afterAll(async () => {
    for (const p of Object.values(procs).reverse()) await p.stop();
    await relay?.down();
    for (const name of ['patient', 'impatient']) {
      for (const m of await mailsOf(name).catch(() => [] as Mail[])) {
        await fetch(`${catcher()}/email/${m.id}`, { method: 'DELETE' }).catch(() => undefined);
      }
      await pool.query(`DROP SCHEMA IF EXISTS "notif_smtp_${name}_${sfx}" CASCADE`);
      await pool.query(`DROP SCHEMA IF EXISTS "notif_smtp_${name}_${sfx}_jobs" CASCADE`);
    }
    await pool.query(`DROP SCHEMA IF EXISTS "${authSchema}" CASCADE`);
    await pool.end();
  });

  it('retries through the outage; past the last try, failed with the reason, shown and retried in the panel', async () => {
    const campaigns: Record<string, string> = {};
    await relay.down();
    const downAt = Date.now();
    for (const name of ['patient', 'impatient']) {
      const { agent, csrf } = await panel(name);
      // Composed in the panel as an admin would (form post, CSRF token).
      const created = await agent
        .post('/notifications/admin/campaigns')
        .type('form')
        .send({
          _csrf: csrf,
          action: 'create',
          title: `Outage ${name}`,
          category: 'new_films',
          channels: 'email',
          subject: `Outage ${sfx}`,
          body: 'Sent through an SMTP outage.',
          audienceKind: 'everyone',
        });
      expect(created.status).toBe(303);
      campaigns[name] = /campaigns\/([^/?]+)\?notice=created/.exec(created.headers.location!)![1]!;
    }

    // The impatient service gives up during the outage: failed, with the reason, in the panel.
    const { agent, csrf } = await panel('impatient');
    const campaignPage = `/notifications/admin/campaigns/${campaigns.impatient}`;
    await waitFor(
      async () => {
        const page = await agent.get(campaignPage);
        return (page.text.match(/ECONNREFUSED/g) ?? []).length >= RECIPIENTS;
      },
      50_000,
      'the failed deliveries in the panel',
    );
    const failedPage = await agent.get(campaignPage);
    const users = await pool.query<{ user_id: string }>(
      `SELECT user_id FROM "notif_smtp_impatient_${sfx}".recipients`,
    );
    expect(users.rows).toHaveLength(RECIPIENTS);
    for (const u of users.rows) expect(failedPage.text).toContain(u.user_id);
    expect(Date.now() - downAt).toBeLessThan(60_000); // it failed while the relay was still down
    expect(await mailsOf('patient')).toHaveLength(0);

    // A minute after it went down, the relay comes back.
    await new Promise((r) => setTimeout(r, Math.max(0, 60_000 - (Date.now() - downAt))));
    await relay.up();

    // The patient service's retries get through: every recipient once.
    await waitFor(
      async () => (await mailsOf('patient')).length >= RECIPIENTS,
      120_000,
      "the patient service's mails after the outage",
    );
    // The panel's JSON needs a session too: without one, the way to the login page.
    const anonymous = await fetch(
      `${urls.patient}/notifications/admin/campaigns/${campaigns.patient}/progress.json`,
      { redirect: 'manual' },
    );
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toMatch(/\/notifications\/admin\/login/);
    const patientPanel = await panel('patient');
    await waitFor(
      async () => {
        const p = await patientPanel.agent.get(
          `/notifications/admin/campaigns/${campaigns.patient}/progress.json`,
        );
        return p.body.state === 'finished' && p.body.sent === RECIPIENTS && p.body.failed === 0;
      },
      30_000,
      'the patient campaign to finish',
    );

    // The impatient one's failed deliveries, retried from the panel, now arrive.
    expect(await mailsOf('impatient')).toHaveLength(0);
    const retried = await agent.post(`${campaignPage}/retry`).type('form').send({ _csrf: csrf });
    expect(retried.status).toBe(303);
    expect(retried.headers.location).toContain('notice=retried');
    await waitFor(
      async () => (await mailsOf('impatient')).length >= RECIPIENTS,
      60_000,
      'the retried mails',
    );
    await new Promise((r) => setTimeout(r, 1_000));
    for (const name of ['patient', 'impatient']) {
      const mails = await mailsOf(name);
      expect(mails).toHaveLength(RECIPIENTS);
      expect(new Set(mails.map((m) => m.to[0]!.address)).size).toBe(RECIPIENTS);
    }
  });
});
