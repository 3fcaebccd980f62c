/**
 * Mass and scheduled sends on the real PostgreSQL (pg-boss in its own schema), RabbitMQ and the
 * stack's MailDev: lifecycle to finished with every recipient mailed once, scheduling and local
 * time with the injected clock (steps driven by hand), pause/resume/cancel, a runner stopped
 * mid-campaign and a new one resuming (each recipient exactly one mail), failed deliveries
 * (SMTP down) retried; bad input and attacks (roles, mass assignment, unknown variables, HTML
 * in variables, CSV injection, oversized CSV, malformed ids) answer 4xx and store nothing.
 */
import { randomUUID } from 'node:crypto';
import { createPool } from '@cinema/pg';
import {
  api,
  deleteMailsTo,
  fakeClock,
  mailsTo,
  sleep,
  startService,
  suffix,
  waitFor,
  type TestService,
} from './helpers';

const CAMPAIGNS = '/api/v1/notifications/campaigns';

async function dropJobs(schema: string): Promise<void> {
  const pool = createPool(process.env.DATABASE_URL!, { max: 1 });
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}_jobs" CASCADE`);
  await pool.end();
}

async function close(svc: TestService | undefined): Promise<void> {
  if (!svc) return;
  await svc.close();
  await dropJobs(svc.schema);
}

async function users(
  svc: TestService,
  n: number,
  extra: (i: number) => Record<string, unknown> = () => ({}),
): Promise<Array<{ id: string; email: string }>> {
  const out = [];
  const tag = suffix();
  for (let i = 0; i < n; i++) {
    const id = randomUUID();
    const email = `c${tag}-${i}@example.test`;
    await svc.deps.recipients.apply(
      { userId: id, email, emailVerified: true, ...extra(i) },
      new Date(),
    );
    out.push({ id, email });
  }
  return out;
}

const adminToken = (svc: TestService) => svc.token(randomUUID(), ['admin']);

async function progress(svc: TestService, id: string, token: string) {
  return (await api(svc.url, `${CAMPAIGNS}/${id}/progress`, { token })).body;
}

describe('with the runner', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService({
      CAMPAIGN_POLL_SECONDS: '0.5',
      EMAIL_RATE_PER_SECOND: '0',
      CAMPAIGN_CSV_MAX_BYTES: '400',
    });
  });
  afterAll(() => close(svc));

  test('a campaign sent now runs to finished: one mail per recipient, in-app items, preference skips counted', async () => {
    const list = await users(svc, 5);
    await svc.deps.pool.query(
      `INSERT INTO preferences (user_id, category, channel, enabled) VALUES ($1, 'new_films', 'email', false)
       ON CONFLICT (user_id, category, channel) DO UPDATE SET enabled = false`,
      [list[4]!.id],
    );
    const token = await adminToken(svc);
    const res = await api(svc.url, CAMPAIGNS, {
      method: 'POST',
      token,
      body: {
        title: 'Premieres of the week',
        category: 'new_films',
        channels: ['email', 'in_app'],
        subject: 'This week: {{film}}',
        body: 'Hello! {{film}} opens on Friday.',
        vars: { film: '<b>Dune</b> & "Co"' },
        audience: { kind: 'ids', ids: list.map((u) => u.id) },
      },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`${CAMPAIGNS}/${res.body.id}`);
    expect(res.body).toMatchObject({
      state: 'scheduled',
      total: 5,
      audience: { kind: 'ids', count: 5 },
    });
    await waitFor(
      async () => (await progress(svc, res.body.id, token)).state === 'finished',
      30_000,
    );
    const p = await progress(svc, res.body.id, token);
    expect(p).toMatchObject({
      recipients: 5,
      planned: 5,
      sent: 9,
      failed: 0,
      skipped: 1,
      skippedByPreference: 1,
      queued: 0,
    });
    for (const u of list.slice(0, 4)) {
      const mails = await mailsTo(u.email);
      expect(mails).toHaveLength(1);
      expect(mails[0]!.subject).toBe('This week: <b>Dune</b> & "Co"');
      // HTML in a variable is text in the HTML part.
      expect(mails[0]!.html).toContain('&lt;b&gt;Dune&lt;/b&gt;');
      expect(mails[0]!.html).not.toContain('<b>Dune</b>');
      expect(mails[0]!.headers['list-unsubscribe']).toBeDefined();
    }
    expect(await mailsTo(list[4]!.email)).toHaveLength(0);
    expect((await svc.deps.inbox.list(list[4]!.id, { limit: 5 }))[0]?.title).toBe(
      'This week: <b>Dune</b> & "Co"',
    );
    const perUser = await api(svc.url, `/api/v1/notifications/users/${list[4]!.id}/deliveries`, {
      token,
    });
    expect(
      perUser.body.items
        .map((d: { channel: string; status: string }) => `${d.channel}:${d.status}`)
        .sort(),
    ).toEqual(['email:skipped', 'in_app:sent']);
    await deleteMailsTo(...list.map((u) => u.email));
  });

  test('a CSV audience by e-mail and id; a template campaign; the role gate', async () => {
    const list = await users(svc, 3, () => ({ roles: ['user'] }));
    const token = await adminToken(svc);
    const csv = `email\n${list[0]!.email}\n${list[1]!.email.toUpperCase()}\n`;
    const res = await api(svc.url, CAMPAIGNS, {
      method: 'POST',
      token,
      body: {
        title: 'CSV',
        category: 'marketing',
        channels: ['in_app'],
        template: 'message',
        vars: { title: 'T', body: 'B' },
        audience: { kind: 'csv', csv },
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.total).toBe(2);
    await waitFor(
      async () => (await progress(svc, res.body.id, token)).state === 'finished',
      30_000,
    );
    // marketing is opt-in: in-app skipped by preference for both.
    expect(await progress(svc, res.body.id, token)).toMatchObject({
      skippedByPreference: 2,
      sent: 0,
    });

    const publicToken = await svc.token(list[0]!.id, ['public_user']);
    for (const [method, path] of [
      ['GET', CAMPAIGNS],
      ['POST', CAMPAIGNS],
      ['GET', `${CAMPAIGNS}/${res.body.id}`],
      ['POST', `${CAMPAIGNS}/${res.body.id}/cancel`],
      ['POST', `${CAMPAIGNS}/${res.body.id}/retry`],
      ['GET', `/api/v1/notifications/users/${list[0]!.id}/deliveries`],
    ] as const) {
      const body = method === 'POST' ? {} : undefined;
      expect((await api(svc.url, path, { method, token: publicToken, body })).status).toBe(403);
      expect((await api(svc.url, path, { method, body })).status).toBe(401);
    }
    const su = await svc.token(randomUUID(), ['super_user']);
    expect((await api(svc.url, `${CAMPAIGNS}/${res.body.id}`, { token: su })).status).toBe(200);
  });

  test('bad input: 4xx problem+json, nothing stored', async () => {
    const token = await adminToken(svc);
    const [u] = await users(svc, 1);
    const count = async () =>
      Number((await svc.deps.pool.query(`SELECT count(*) FROM campaigns`)).rows[0].count);
    const before = await count();
    const base = {
      title: 'Bad',
      category: 'new_films',
      channels: ['email'],
      template: 'message',
      vars: { title: 't', body: 'b' },
      audience: { kind: 'ids', ids: [u!.id] },
    };
    const cases: Array<[string, Record<string, unknown>, number, RegExp | string]> = [
      [
        'unknown template variable',
        { vars: { title: 't', body: 'b', extra: 'x' } },
        422,
        'body.vars',
      ],
      ['missing template variable', { vars: { title: 't' } }, 422, 'body.vars'],
      [
        'ad-hoc unknown placeholder',
        { template: undefined, vars: {}, subject: 'Hi {{name}}', body: 'x' },
        422,
        'body.subject',
      ],
      ['transactional template', { template: 'password_reset' }, 422, 'body.template'],
      ['mandatory category', { category: 'security' }, 422, 'body.category'],
      [
        'date in the past',
        { sendAt: new Date(Date.now() - 3_600_000).toISOString() },
        422,
        'body.sendAt',
      ],
      ['date without offset', { sendAt: '2030-01-01T10:00' }, 422, 'body.sendAt'],
      [
        'audience resolving to nobody',
        { audience: { kind: 'role', role: 'nobody_has_this' } },
        422,
        'body.audience',
      ],
      [
        'malformed ids',
        { audience: { kind: 'ids', ids: [u!.id, 'not-a-uuid', "1' OR 1=1"] } },
        422,
        'body.audience.ids',
      ],
      ['unknown ids', { audience: { kind: 'ids', ids: [randomUUID()] } }, 422, 'body.audience'],
      [
        'oversized CSV',
        { audience: { kind: 'csv', csv: `${u!.id}\n`.repeat(20) } },
        422,
        'body.audience.csv',
      ],
      [
        'CSV injection cell',
        { audience: { kind: 'csv', csv: `=HYPERLINK("http://evil")\n${u!.id}` } },
        422,
        'body.audience.csv',
      ],
      ['mass assignment', { state: 'finished', total: 1e6, createdBy: randomUUID() }, 400, ''],
      ['unknown audience kind', { audience: { kind: 'all_the_things' } }, 400, ''],
    ];
    for (const [name, patch, status, field] of cases) {
      const res = await api(svc.url, CAMPAIGNS, {
        method: 'POST',
        token,
        body: { ...base, ...patch },
      });
      expect({ name, status: res.status }).toEqual({ name, status: expect.any(Number) });
      expect([name, res.status >= 400 && res.status < 500]).toEqual([name, true]);
      if (status === 422) {
        expect([name, res.status]).toEqual([name, 422]);
        expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
        expect([
          name,
          Object.keys(res.body.errors ?? {}).some((k) => k.startsWith(field as string)),
        ]).toEqual([name, true]);
      }
    }
    expect(await count()).toBe(before);
    expect((await api(svc.url, `${CAMPAIGNS}/abc`, { token })).status).toBe(422);
    expect((await api(svc.url, `${CAMPAIGNS}/999999`, { token })).status).toBe(404);
    expect(
      (await api(svc.url, `/api/v1/notifications/users/not-a-uuid/deliveries`, { token })).status,
    ).toBe(422);
  });
});

describe('the panel over HTTP', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService({}, { start: false });
  });
  afterAll(() => close(svc));

  const page = (path: string, cookie = '', init: RequestInit = {}) =>
    fetch(`${svc.url}/notifications/admin${path}`, {
      redirect: 'manual',
      ...init,
      headers: { cookie, ...(init.headers as Record<string, string>) },
    });

  test('role gate, CSRF, escaped output, strict CSP', async () => {
    expect((await page('/campaigns')).status).toBe(303);
    const publicUser = await svc.token(randomUUID(), ['public_user']);
    const refused = await page('/campaigns', `na_access=${publicUser}`);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/neither the admin nor the super_user role/);

    const [u] = await users(svc, 1);
    await svc.deps.campaigns.create(
      {
        title: '<script>alert(1)</script>',
        category: 'new_films',
        channels: ['in_app'],
        template: 'message',
        vars: { title: '<img src=x onerror=alert(1)>', body: 'b' },
        audience: { kind: 'ids', ids: [u!.id] },
      },
      randomUUID(),
    );
    const admin = await adminToken(svc);
    const csrf = 'c'.repeat(43);
    const cookie = `na_access=${admin}; na_csrf=${csrf}`;
    const list = await page('/campaigns', cookie);
    expect(list.status).toBe(200);
    expect(list.headers.get('content-security-policy')).toMatch(/script-src 'self';/);
    const html = await list.text();
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>alert(1)');

    const form = (fields: Record<string, string>) => ({
      method: 'POST',
      body: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const newForm = {
      title: 'x',
      category: 'new_films',
      channels: 'in_app',
      subject: 's',
      body: 'b',
      audienceKind: 'everyone',
    };
    expect((await page('/campaigns', cookie, form(newForm))).status).toBe(403);
    expect(
      (await page('/campaigns', cookie, form({ ...newForm, _csrf: 'd'.repeat(43) }))).status,
    ).toBe(403);
    const bad = await page(
      '/campaigns',
      cookie,
      form({ ...newForm, _csrf: csrf, sendAt: '2000-01-01T10:00' }),
    );
    expect(bad.status).toBe(422);
    expect(await bad.text()).toMatch(/in the past/);
    const made = await page('/campaigns', cookie, form({ ...newForm, _csrf: csrf }));
    expect(made.status).toBe(303);
    expect(made.headers.get('location')).toMatch(
      /\/notifications\/admin\/campaigns\/\d+\?notice=created/,
    );
  });
});

describe('driven by hand with the injected clock', () => {
  let svc: TestService;
  const time = fakeClock('2030-03-01T06:00:00Z');
  beforeAll(async () => {
    svc = await startService({ CAMPAIGN_BATCH_SIZE: '2' }, { clock: time, start: false });
  });
  afterAll(() => close(svc));

  const create = async (body: Record<string, unknown>) =>
    api(svc.url, CAMPAIGNS, {
      method: 'POST',
      token: await adminToken(svc),
      body: {
        title: 'T',
        category: 'new_films',
        channels: ['email'],
        template: 'message',
        vars: { title: 't', body: 'b' },
        ...body,
      },
    });

  test('scheduled at a date: nothing before it, everything after; the past is refused', async () => {
    const list = await users(svc, 3);
    const audience = { kind: 'ids', ids: list.map((u) => u.id) };
    expect((await create({ audience, sendAt: '2030-03-01T05:00:00Z' })).status).toBe(422);
    const res = await create({ audience, sendAt: '2030-03-01T07:00:00+00:00' });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    expect(await svc.deps.campaignRunner.step(id)).toMatchObject({
      planned: 0,
      state: 'scheduled',
      next: new Date('2030-03-01T07:00:00Z'),
    });
    time.set('2030-03-01T07:00:00Z');
    expect(await svc.deps.campaignRunner.step(id)).toMatchObject({ planned: 2, state: 'running' });
    expect(await svc.deps.campaignRunner.step(id)).toMatchObject({ planned: 1, state: 'running' });
    // All planned, mails queued (no worker here): the runner looks again later.
    const again = await svc.deps.campaignRunner.step(id);
    expect(again.planned).toBe(0);
    expect(again.next!.getTime()).toBeGreaterThan(time.now.getTime());
  });

  test('local time: each recipient at 09:00 in their own time zone', async () => {
    const tokyo = await users(svc, 1, () => ({ timeZone: 'Asia/Tokyo' }));
    const moscow = await users(svc, 1, () => ({ timeZone: 'Europe/Moscow' }));
    time.set('2030-03-01T06:00:00Z');
    const ids = [...tokyo, ...moscow].map((u) => u.id);
    // 09:00 on 1 March has passed in Tokyo (00:00 UTC): refused.
    expect(
      (
        await create({
          audience: { kind: 'ids', ids },
          sendAt: '2030-03-01T09:00',
          localTime: true,
        })
      ).status,
    ).toBe(422);
    const res = await create({
      audience: { kind: 'ids', ids },
      sendAt: '2030-03-02T09:00',
      localTime: true,
    });
    expect(res.status).toBe(201);
    expect(res.body.sendAt).toBe('2030-03-02T00:00:00.000Z');
    time.set('2030-03-02T00:00:00Z');
    expect(await svc.deps.campaignRunner.step(res.body.id)).toMatchObject({
      planned: 1,
      next: new Date('2030-03-02T06:00:00Z'),
    });
    time.set('2030-03-02T06:00:00Z');
    expect(await svc.deps.campaignRunner.step(res.body.id)).toMatchObject({ planned: 1 });
  });

  test('pause holds queued deliveries and stops planning; resume releases; cancel skips the rest', async () => {
    time.set('2030-04-01T10:00:00Z');
    const list = await users(svc, 5);
    const token = await adminToken(svc);
    const res = await create({ audience: { kind: 'ids', ids: list.map((u) => u.id) } });
    const id = res.body.id as string;
    await svc.deps.campaignRunner.step(id);
    expect(await progress(svc, id, token)).toMatchObject({
      state: 'running',
      planned: 2,
      queued: 2,
      held: 0,
    });
    expect(
      (await api(svc.url, `${CAMPAIGNS}/${id}/pause`, { method: 'POST', token })).body.state,
    ).toBe('paused');
    expect(await progress(svc, id, token)).toMatchObject({ state: 'paused', planned: 2, held: 2 });
    const due = await svc.deps.deliveries.claim('email', new Date('2099-01-01'), 100, 1000);
    expect(due.filter((d) => d.campaignId === id)).toHaveLength(0); // the worker cannot take them
    expect(await svc.deps.campaignRunner.step(id)).toMatchObject({
      planned: 0,
      next: null,
      state: 'paused',
    });
    expect((await api(svc.url, `${CAMPAIGNS}/${id}/pause`, { method: 'POST', token })).status).toBe(
      409,
    );
    expect(
      (await api(svc.url, `${CAMPAIGNS}/${id}/resume`, { method: 'POST', token })).body.state,
    ).toBe('running');
    expect(await progress(svc, id, token)).toMatchObject({ held: 0, queued: 2 });
    await svc.deps.campaignRunner.step(id);
    expect(await progress(svc, id, token)).toMatchObject({ planned: 4 });
    const cancelled = await api(svc.url, `${CAMPAIGNS}/${id}/cancel`, { method: 'POST', token });
    expect(cancelled.body.state).toBe('cancelled');
    expect(await progress(svc, id, token)).toMatchObject({ planned: 4, queued: 0, skipped: 4 });
    expect(await svc.deps.campaignRunner.step(id)).toMatchObject({ planned: 0, next: null });
    expect(
      (await api(svc.url, `${CAMPAIGNS}/${id}/resume`, { method: 'POST', token })).status,
    ).toBe(409);
    const skipped = await api(svc.url, `${CAMPAIGNS}/${id}/deliveries?status=skipped`, { token });
    expect(skipped.body.items[0].reason).toBe('campaign cancelled');
  });
});

test('a runner stopped mid-campaign: a new one resumes, every recipient gets exactly one mail', async () => {
  const schema = `notif_t_${suffix()}`;
  const env = {
    NOTIFICATIONS_DB_SCHEMA: schema,
    NOTIFICATIONS_QUEUE_PREFIX: `notifications.test.${schema}`,
    CAMPAIGN_BATCH_SIZE: '5',
    CAMPAIGN_POLL_SECONDS: '0.5',
    CAMPAIGN_JOB_EXPIRE_SECONDS: '5',
    CAMPAIGN_MAINTENANCE_SECONDS: '1',
    EMAIL_RATE_PER_SECOND: '0',
  };
  const first = await startService(env);
  let second: TestService | undefined;
  try {
    const list = await users(first, 150);
    // Slow steps (200 ms each) so the stop lands mid-campaign.
    const runner = first.deps.campaignRunner;
    const step = runner.step.bind(runner);
    runner.step = async (id: string) => {
      await sleep(200);
      return step(id);
    };
    const token = await adminToken(first);
    const res = await api(first.url, CAMPAIGNS, {
      method: 'POST',
      token,
      body: {
        title: 'Resume',
        category: 'new_films',
        channels: ['email'],
        template: 'message',
        vars: { title: 'Resume me', body: 'b' },
        audience: { kind: 'ids', ids: list.map((u) => u.id) },
      },
    });
    expect(res.status).toBe(201);
    await waitFor(
      async () => (await progress(first, res.body.id, token)).planned >= 10,
      20_000,
      'ten recipients planned',
    );
    // Hard stop of the job runner (active steps are abandoned), then the rest of the process.
    await first.deps.campaignJobs.boss.stop({ graceful: false, wait: true });
    const stoppedAt = (await progress(first, res.body.id, token)).planned;
    await first.deps.lifecycle!.shutdown('killed');
    expect(stoppedAt).toBeLessThan(150);

    second = await startService(env);
    const token2 = await adminToken(second);
    await waitFor(
      async () => (await progress(second!, res.body.id, token2)).state === 'finished',
      60_000,
    );
    expect(await progress(second, res.body.id, token2)).toMatchObject({
      planned: 150,
      sent: 150,
      failed: 0,
      queued: 0,
    });
    const caught = await Promise.all(list.map((u) => mailsTo(u.email)));
    expect(caught.map((m) => m.filter((x) => x.subject === 'Resume me').length)).toEqual(
      list.map(() => 1),
    );
    await deleteMailsTo(...list.map((u) => u.email));
  } finally {
    await close(second);
    if (!second) await dropJobs(schema);
  }
}, 120_000);

test('SMTP down: deliveries fail with the reason; retried from the API once it is back', async () => {
  const schema = `notif_t_${suffix()}`;
  const env = {
    NOTIFICATIONS_DB_SCHEMA: schema,
    NOTIFICATIONS_QUEUE_PREFIX: `notifications.test.${schema}`,
    CAMPAIGN_POLL_SECONDS: '0.5',
    EMAIL_RATE_PER_SECOND: '0',
  };
  const down = await startService({
    ...env,
    SMTP_URL: 'smtp://127.0.0.1:9',
    DELIVERY_MAX_ATTEMPTS: '1',
  });
  let up: TestService | undefined;
  try {
    const list = await users(down, 3);
    const token = await adminToken(down);
    const res = await api(down.url, CAMPAIGNS, {
      method: 'POST',
      token,
      body: {
        title: 'Retry',
        category: 'new_films',
        channels: ['email'],
        template: 'message',
        vars: { title: 'Retry me', body: 'b' },
        audience: { kind: 'ids', ids: list.map((u) => u.id) },
      },
    });
    await waitFor(async () => (await progress(down, res.body.id, token)).failed === 3, 30_000);
    // Every delivery done (failed): the campaign is finished; a retry runs it again below.
    await waitFor(
      async () => (await progress(down, res.body.id, token)).state === 'finished',
      30_000,
    );
    const failed = await api(down.url, `${CAMPAIGNS}/${res.body.id}/deliveries?status=failed`, {
      token,
    });
    expect(failed.body.items).toHaveLength(3);
    expect(failed.body.items[0].reason).toMatch(/ECONNREFUSED|connect/i);
    await down.deps.lifecycle!.shutdown('smtp fixed');

    up = await startService(env);
    const token2 = await adminToken(up);
    const one = failed.body.items[0].id as string;
    expect(
      (
        await api(up.url, `${CAMPAIGNS}/${res.body.id}/retry?deliveryId=${one}`, {
          method: 'POST',
          token: token2,
        })
      ).body,
    ).toEqual({ retried: 1 });
    expect((await progress(up, res.body.id, token2)).state).toBe('running');
    expect(
      (
        await api(up.url, `${CAMPAIGNS}/${res.body.id}/retry?deliveryId=${one}`, {
          method: 'POST',
          token: token2,
        })
      ).status,
    ).toBe(409);
    expect(
      (await api(up.url, `${CAMPAIGNS}/${res.body.id}/retry`, { method: 'POST', token: token2 }))
        .body,
    ).toEqual({ retried: 2 });
    await waitFor(async () => (await progress(up!, res.body.id, token2)).sent === 3, 30_000);
    await waitFor(
      async () => (await progress(up!, res.body.id, token2)).state === 'finished',
      30_000,
    );
    for (const u of list)
      expect((await mailsTo(u.email)).filter((m) => m.subject === 'Retry me')).toHaveLength(1);
    await deleteMailsTo(...list.map((u) => u.email));
  } finally {
    await close(up);
    if (!up) await dropJobs(schema);
  }
}, 120_000);
