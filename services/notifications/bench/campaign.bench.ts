/**
 * On-demand benchmark of mass sends (not part of `npm test`):
 *
 *   eval "$(npm run -s stack -- env)"
 *   npx tsx services/notifications/bench/campaign.bench.ts [recipients=100000] [seconds=10] [rates=100,500,0]
 *
 * Fills a private schema with N verified recipients, creates one e-mail campaign for all of them
 * and times the enqueue (every recipient's delivery planned by the pg-boss runner; target < 30 s),
 * then delivers for a short run at each rate (mails per second, 0 = unlimited) and prints mails/s
 * and the process RSS. Mails go to a local SMTP sink the bench runs (it counts them; nothing is
 * stored), or with BENCH_SMTP=stack to the stack's SMTP_URL (MailDev). The campaign is cancelled
 * and the schemas dropped at the end.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { Lifecycle } from '@cinema/http';
import { createLogger } from '@cinema/logging';
import { createPool } from '@cinema/pg';
import { readConfig } from '../src/config';
import { wire, type Dependencies } from '../src/wiring';

const [n = '100000', seconds = '10', rates = '100,500,0'] = process.argv.slice(2);
const N = Number(n);
const schema = `notif_bench_${Date.now().toString(36)}`;
const mb = () => Math.round(process.memoryUsage().rss / 1048576);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A minimal SMTP server that accepts and counts every message (no TLS, no storage). */
async function startSink(): Promise<{ url: string; count: () => number; close: () => void }> {
  let count = 0;
  const server = createServer((socket) => {
    let data = false;
    let buffer = '';
    socket.write('220 sink ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        if (data) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          buffer = buffer.slice(end + 5);
          data = false;
          count++;
          socket.write('250 queued\r\n');
          continue;
        }
        const nl = buffer.indexOf('\r\n');
        if (nl < 0) return;
        const line = buffer.slice(0, nl).toUpperCase();
        buffer = buffer.slice(nl + 2);
        if (line.startsWith('EHLO') || line.startsWith('HELO'))
          socket.write('250-sink\r\n250 8BITMIME\r\n');
        else if (line.startsWith('DATA')) {
          data = true;
          socket.write('354 go on\r\n');
        } else if (line.startsWith('QUIT')) socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `smtp://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count: () => count,
    close: () => server.close(),
  };
}

let smtpUrl: string | undefined;

async function service(rate: string): Promise<{ deps: Dependencies; stop: () => Promise<void> }> {
  const config = readConfig({
    ...process.env,
    NOTIFICATIONS_DB_SCHEMA: schema,
    NOTIFICATIONS_QUEUE_PREFIX: `notifications.${schema}`,
    // No token is verified here: the JWKS is never fetched.
    AUTH_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
    UNSUBSCRIBE_SECRET: 'bench-unsubscribe-secret-0123456789abcdef',
    ...(smtpUrl ? { SMTP_URL: smtpUrl } : {}),
    EMAIL_RATE_PER_SECOND: rate,
    CAMPAIGN_BATCH_SIZE: process.env.CAMPAIGN_BATCH_SIZE ?? '1000',
    CAMPAIGN_POLL_SECONDS: '0.5',
    LOG_LEVEL: 'warn',
  });
  const logger = createLogger({ service: 'notifications-bench', level: config.LOG_LEVEL });
  const lifecycle = new Lifecycle(logger, 10_000);
  const deps = await wire({ config, logger, lifecycle });
  await deps.start();
  return {
    deps,
    stop: async () => {
      await lifecycle.shutdown('bench');
    },
  };
}

async function main(): Promise<void> {
  const sink = process.env.BENCH_SMTP === 'stack' ? undefined : await startSink();
  smtpUrl = sink?.url;
  const rateList = rates.split(',');
  let svc = await service(rateList[0]!);
  const { pool } = svc.deps;
  const t0 = Date.now();
  await pool.query(
    `INSERT INTO recipients (user_id, email, email_verified)
     SELECT gen_random_uuid(), 'bench-' || i || '@example.test', true FROM generate_series(1, $1) i`,
    [N],
  );
  console.log(`recipients: ${N} inserted in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const t1 = Date.now();
  const campaign = await svc.deps.campaigns.create(
    {
      title: 'Bench',
      category: 'new_films',
      channels: ['email'],
      template: 'message',
      vars: { title: 'Bench', body: 'b' },
      audience: { kind: 'everyone' },
    },
    randomUUID(),
  );
  console.log(
    `campaign created (audience resolved: ${campaign.total}) in ${((Date.now() - t1) / 1000).toFixed(1)} s`,
  );
  let peak = mb();
  for (;;) {
    const p = await svc.deps.campaigns.progress(campaign.id);
    peak = Math.max(peak, mb());
    if (p.planned >= N) break;
    await sleep(250);
  }
  console.log(
    `enqueue: ${N} deliveries planned in ${((Date.now() - t1) / 1000).toFixed(1)} s (${Math.round(N / ((Date.now() - t1) / 1000))}/s), peak RSS ${peak} MB`,
  );
  for (const rate of rateList) {
    if (svc.deps.worker === undefined) break;
    await svc.stop();
    svc = await service(rate);
    const before = (await svc.deps.campaigns.progress(campaign.id)).sent;
    const start = Date.now();
    let rss = mb();
    while (Date.now() - start < Number(seconds) * 1000) {
      await sleep(500);
      rss = Math.max(rss, mb());
    }
    const sent = (await svc.deps.campaigns.progress(campaign.id)).sent - before;
    console.log(
      `rate ${rate === '0' ? 'unlimited' : rate}/s: ${sent} mails in ${seconds} s = ${(sent / ((Date.now() - start) / 1000)).toFixed(1)} mails/s, peak RSS ${rss} MB`,
    );
  }
  await svc.deps.campaigns.cancel(campaign.id).catch(() => undefined);
  await svc.stop();
  const admin = createPool(process.env.DATABASE_URL!, { max: 1 });
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}_jobs" CASCADE`);
  await admin.end();
  if (process.env.MAILCATCHER_URL)
    await fetch(`${process.env.MAILCATCHER_URL.replace(/\/+$/, '')}/email/all`, {
      method: 'DELETE',
    }).catch(() => undefined);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
