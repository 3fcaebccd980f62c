/**
 * The delivery worker on the real PostgreSQL, MailDev and an HTTP SMS sink: quiet hours hold
 * non-urgent messages until the morning of the user's time zone (fake clock, no sleeping through
 * the night); SMS through the gateway only to verified phones; non-transactional mail carries
 * RFC 8058 headers whose link unsubscribes without login; the per-channel rate holds and
 * transactional mail jumps the queue; an unreachable SMTP server is retried, then `failed` with
 * the reason.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPool } from '@cinema/pg';
import { freePort } from '@cinema/testing';
import {
  deleteMailsTo,
  fakeClock,
  mailTo,
  mailsTo,
  sleep,
  startService,
  waitFor,
  type TestService,
} from './helpers';

const addresses: string[] = [];
const address = () => {
  const a = `d-${randomUUID().slice(0, 8)}@example.test`;
  addresses.push(a);
  return a;
};

/** The local SMS sink: records what the gateway client posts. */
const sms: Array<{ to: string; text: string; category: string; id: string }> = [];
let sink: Server;
let sinkUrl: string;

beforeAll(async () => {
  sink = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      sms.push(JSON.parse(body));
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/sms`;
});

afterAll(async () => {
  await new Promise((r) => sink.close(r));
  await deleteMailsTo(...addresses);
});

async function recipient(svc: TestService, extra: Record<string, unknown> = {}) {
  const userId = randomUUID();
  const email = address();
  await svc.deps.recipients.apply({ userId, email, emailVerified: true, ...extra }, new Date());
  return { userId, email };
}

describe('with a fake clock', () => {
  let svc: TestService;
  const time = fakeClock('2026-06-01T20:30:00Z'); // 23:30 in Moscow

  beforeAll(async () => {
    svc = await startService({ SMS_GATEWAY_URL: sinkUrl }, { clock: time });
  });
  afterAll(() => svc?.close());

  test("quiet hours: marketing mail waits for 08:00 in the user's zone; the security alert (mail, SMS) goes now", async () => {
    const u = await recipient(svc, {
      timeZone: 'Europe/Moscow',
      quietHours: { start: '22:00', end: '08:00' },
      phone: '+79990000001',
      phoneVerified: true,
    });
    await svc.deps.settings.update(u.userId, { categories: { marketing: { email: true } } });
    const marketing = randomUUID();
    await svc.deps.notifier.notify({
      messageId: marketing,
      userId: u.userId,
      category: 'marketing',
      template: 'message',
      vars: { title: 'Night sale', body: 'Films at half price' },
      channels: ['email'],
    });
    await svc.deps.notifier.notify({
      messageId: randomUUID(),
      userId: u.userId,
      category: 'security',
      template: 'login_new_device',
      vars: { device: 'Phone', ip: null, method: 'password' },
      channels: ['email', 'sms'],
    });
    await mailTo(u.email, /New sign-in/);
    await waitFor(async () => sms.some((s) => s.to === '+79990000001'));
    expect(sms.find((s) => s.to === '+79990000001')).toMatchObject({
      category: 'security',
      text: expect.stringMatching(/new sign-in from Phone/),
    });
    await sleep(600);
    expect((await mailsTo(u.email)).map((m) => m.subject)).toEqual([
      'New sign-in to your Cinema account',
    ]);
    const [held] = await svc.deps.deliveries.ofMessage(marketing);
    expect(held).toMatchObject({ status: 'queued' });
    expect(held!.notBefore.toISOString()).toBe('2026-06-02T05:00:00.000Z');

    time.set('2026-06-02T05:00:00Z'); // 08:00 in Moscow
    svc.deps.worker.wake('email');
    const mail = await mailTo(u.email, /Night sale/);
    // Non-transactional: RFC 8058 headers; the link turns the category off without a session.
    expect(mail.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    const link = /^<(https?:\/\/[^>]+)>$/.exec(mail.headers['list-unsubscribe']!)![1]!;
    expect(
      link.startsWith(
        `${svc.config.NOTIFICATIONS_PUBLIC_URL}/api/v1/notifications/unsubscribe?token=`,
      ),
    ).toBe(true);
    expect(mail.html).toContain('Unsubscribe');
    const res = await fetch(link.replace(svc.config.NOTIFICATIONS_PUBLIC_URL, svc.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(res.status).toBe(200);
    expect((await svc.deps.settings.get(u.userId)).categories.marketing.email).toBe(false);
  });

  test('SMS never to an unverified phone, nor for a category SMS does not carry', async () => {
    const before = sms.length;
    const unverified = await recipient(svc, { phone: '+79990000002', phoneVerified: false });
    const verified = await recipient(svc, { phone: '+79990000003', phoneVerified: true });
    await svc.deps.settings.update(verified.userId, { categories: { new_films: { sms: true } } });
    const a = await svc.deps.notifier.notify({
      messageId: randomUUID(),
      userId: unverified.userId,
      category: 'security',
      template: 'login_new_device',
      vars: { device: 'X', ip: null, method: 'password' },
      channels: ['sms'],
    });
    const b = await svc.deps.notifier.notify({
      messageId: randomUUID(),
      userId: verified.userId,
      category: 'new_films',
      template: 'message',
      vars: { title: 'New film', body: 'b' },
      channels: ['sms'],
    });
    expect(a.outcomes[0]).toMatchObject({ status: 'skipped', reason: 'no verified phone' });
    expect(b.outcomes[0]).toMatchObject({
      status: 'skipped',
      reason: 'SMS does not carry new_films',
    });
    await sleep(300);
    expect(sms.length).toBe(before);
  });
});

describe('SMTP unreachable', () => {
  let svc: TestService;
  const time = fakeClock('2026-06-01T12:00:00Z');

  beforeAll(async () => {
    svc = await startService(
      { SMTP_URL: `smtp://127.0.0.1:${await freePort()}`, DELIVERY_MAX_ATTEMPTS: '3' },
      { clock: time },
    );
  });
  afterAll(() => svc?.close());

  test('retried with backoff, then failed with the reason (and the link scrubbed)', async () => {
    const u = await recipient(svc);
    const messageId = randomUUID();
    await svc.deps.notifier.notify({
      messageId,
      userId: u.userId,
      category: 'security',
      template: 'password_reset',
      vars: { reset_url: 'https://x.test/#token=secret', expires_at: 'soon' },
      channels: ['email'],
    });
    const attempts = async (n: number) =>
      waitFor(async () => {
        const [d] = await svc.deps.deliveries.ofMessage(messageId);
        return d && d.attempts === n && d.status !== 'sending' ? d : undefined;
      });
    const first = await attempts(1);
    expect(first).toMatchObject({
      status: 'queued',
      reason: expect.stringMatching(/ECONNREFUSED|connect/i),
    });
    expect(first.notBefore.getTime() - time.now.getTime()).toBe(5_000);
    time.set('2026-06-01T12:00:05Z');
    svc.deps.worker.wake('email');
    const second = await attempts(2);
    expect(second.notBefore.getTime() - time.now.getTime()).toBe(10_000);
    time.set('2026-06-01T12:00:15Z');
    svc.deps.worker.wake('email');
    const last = await attempts(3);
    expect(last).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/ECONNREFUSED|connect/i),
    });
    expect(last.vars).not.toHaveProperty('reset_url');
  });
});

describe('rate limit (real clock)', () => {
  let svc: TestService;

  beforeAll(async () => {
    svc = await startService({ EMAIL_RATE_PER_SECOND: '5' }, { start: false });
  });
  afterAll(() => svc?.close());

  test('5 mails/s on e-mail; a reset mail queued behind 10 newsletters goes in the first batch', async () => {
    const users = await Promise.all(Array.from({ length: 10 }, () => recipient(svc)));
    for (const u of users)
      await svc.deps.settings.update(u.userId, { categories: { marketing: { email: true } } });
    const campaign = randomUUID();
    for (const u of users) {
      await svc.deps.notifier.notify({
        messageId: campaign,
        userId: u.userId,
        category: 'marketing',
        template: 'message',
        vars: { title: 'Newsletter', body: 'b' },
        channels: ['email'],
      });
    }
    const urgent = await recipient(svc);
    const reset = randomUUID();
    await svc.deps.notifier.notify({
      messageId: reset,
      userId: urgent.userId,
      category: 'security',
      template: 'password_reset',
      vars: { reset_url: 'https://x.test/#token=1', expires_at: 'soon' },
      channels: ['email'],
    });
    const t0 = Date.now();
    await svc.deps.start();
    const pool = createPool(process.env.DATABASE_URL!, {
      max: 1,
      options: `-c search_path=${svc.schema}`,
    });
    try {
      await waitFor(async () => {
        const r = await pool.query(
          `SELECT count(*)::int AS n FROM deliveries WHERE status = 'sent' AND channel = 'email'`,
        );
        return r.rows[0].n === 11;
      }, 20_000);
      const elapsed = Date.now() - t0;
      // A burst of 5, then 6 more at 5/s: at least about 1.2 s.
      expect(elapsed).toBeGreaterThanOrEqual(1100);
      const order = await pool.query<{ message_id: string }>(
        `SELECT message_id FROM deliveries WHERE channel = 'email' ORDER BY sent_at, id`,
      );
      const position = order.rows.findIndex((r) => r.message_id === reset);
      // Claimed with the first batch (priority first): among the first 5, never after the newsletters.
      expect(position).toBeLessThan(5);
    } finally {
      await pool.end();
    }
  });
});
