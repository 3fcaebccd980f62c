/**
 * The HTTP API on the real PostgreSQL: preferences (locked categories, one 422 for every bad
 * field, nothing half-stored), one-click unsubscribe without login (forged and altered tokens
 * refused), the inbox scoped to its owner (IDOR), and the SSE stream (own items only, pushed
 * live, Last-Event-ID resume).
 */
import { randomUUID } from 'node:crypto';
import { createUnsubscribeTokens } from '../src/adapters/unsubscribe.tokens';
import { api, startService, waitFor, type TestService } from './helpers';

let svc: TestService;

beforeAll(async () => {
  svc = await startService();
});

afterAll(async () => {
  await svc?.close();
});

async function user(): Promise<{ id: string; token: string }> {
  const id = randomUUID();
  await svc.deps.recipients.apply(
    { userId: id, email: `${id.slice(0, 8)}@example.test`, emailVerified: true },
    new Date(),
  );
  return { id, token: await svc.token(id) };
}

async function inboxItem(userId: string, title = 'Hello'): Promise<string> {
  await svc.deps.notifier.notify({
    messageId: randomUUID(),
    userId,
    category: 'review_activity',
    template: 'message',
    vars: { title, body: 'body' },
    channels: ['in_app'],
  });
  const page = await svc.deps.inbox.list(userId, { limit: 1 });
  return page[0]!.id;
}

describe('preferences', () => {
  test('defaults: everything on but marketing and non-security SMS; security and account locked', async () => {
    const u = await user();
    const res = await api(svc.url, '/api/v1/notifications/preferences', { token: u.token });
    expect(res.status).toBe(200);
    expect(res.body.categories.marketing).toEqual({ email: false, in_app: false, sms: false });
    expect(res.body.categories.security).toEqual({ email: true, in_app: true, sms: true });
    expect(res.body.categories.new_films).toEqual({ email: true, in_app: true, sms: false });
    expect(res.body.locked).toEqual(
      expect.arrayContaining([
        { category: 'security', channel: 'email' },
        { category: 'account', channel: 'in_app' },
      ]),
    );
    expect(res.body).toMatchObject({ locale: 'en', timeZone: 'UTC', quietHours: null });
  });

  test('PUT changes the given switches, locale, time zone and quiet hours', async () => {
    const u = await user();
    const res = await api(svc.url, '/api/v1/notifications/preferences', {
      method: 'PUT',
      token: u.token,
      body: {
        categories: { marketing: { email: true }, new_films: { in_app: false } },
        locale: 'ru',
        timeZone: 'Europe/Moscow',
        quietHours: { start: '22:00', end: '08:00' },
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.categories.marketing.email).toBe(true);
    expect(res.body.categories.new_films).toEqual({ email: true, in_app: false, sms: false });
    expect(res.body).toMatchObject({
      locale: 'ru',
      timeZone: 'Europe/Moscow',
      quietHours: { start: '22:00', end: '08:00' },
    });
    const again = await api(svc.url, '/api/v1/notifications/preferences', { token: u.token });
    expect(again.body).toEqual(res.body);
  });

  test('security/account cannot be turned off; bad fields answer one 422 and nothing is stored', async () => {
    const u = await user();
    const res = await api(svc.url, '/api/v1/notifications/preferences', {
      method: 'PUT',
      token: u.token,
      body: {
        categories: { security: { email: false }, marketing: { email: true } },
        timeZone: 'Mars/Olympus',
        quietHours: { start: '23:00', end: '23:00' },
      },
    });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(res.body.errors['body.categories.security.email'].message).toMatch(
      /cannot be turned off/,
    );
    expect(Object.keys(res.body.errors)).toEqual(
      expect.arrayContaining(['body.timeZone', 'body.quietHours']),
    );
    const after = await api(svc.url, '/api/v1/notifications/preferences', { token: u.token });
    expect(after.body.categories.marketing.email).toBe(false); // not half-stored
    expect(after.body.timeZone).toBe('UTC');
  });

  test('unknown fields and categories are refused (422); no token is 401', async () => {
    const u = await user();
    const extra = await api(svc.url, '/api/v1/notifications/preferences', {
      method: 'PUT',
      token: u.token,
      body: { categories: { spam: { email: true } } },
    });
    expect(extra.status).toBe(422);
    const wrongType = await api(svc.url, '/api/v1/notifications/preferences', {
      method: 'PUT',
      token: u.token,
      body: { categories: { marketing: { email: 'yes' } } },
    });
    expect(wrongType.status).toBe(422);
    expect((await api(svc.url, '/api/v1/notifications/preferences')).status).toBe(401);
  });
});

describe('one-click unsubscribe', () => {
  const sign = (userId: string, category: string) =>
    createUnsubscribeTokens(svc.config.UNSUBSCRIBE_SECRET!).sign({
      userId,
      category: category as never,
    });

  test('POST with the signed token turns the category off on e-mail, without a session', async () => {
    const u = await user();
    await svc.deps.settings.update(u.id, { categories: { marketing: { email: true } } });
    const token = sign(u.id, 'marketing');
    const res = await api(
      svc.url,
      `/api/v1/notifications/unsubscribe?token=${encodeURIComponent(token)}`,
      {
        method: 'POST',
        body: undefined,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ unsubscribed: true, category: 'marketing' });
    expect((await svc.deps.settings.get(u.id)).categories.marketing.email).toBe(false);
    // Idempotent: the link works again.
    const again = await api(
      svc.url,
      `/api/v1/notifications/unsubscribe?token=${encodeURIComponent(token)}`,
      { method: 'POST' },
    );
    expect(again.status).toBe(200);
  });

  test('GET only shows the confirmation page (link scanners change nothing)', async () => {
    const u = await user();
    await svc.deps.settings.update(u.id, { categories: { new_films: { email: true } } });
    const token = sign(u.id, 'new_films');
    const res = await fetch(
      `${svc.url}/api/v1/notifications/unsubscribe?token=${encodeURIComponent(token)}`,
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<form method="post"/);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect((await svc.deps.settings.get(u.id)).categories.new_films.email).toBe(true);
  });

  test('forged, altered, other-secret and mandatory-category tokens are refused (400) and change nothing', async () => {
    const u = await user();
    await svc.deps.settings.update(u.id, { categories: { marketing: { email: true } } });
    const good = sign(u.id, 'marketing');
    const [payload, mac] = good.split('.');
    const other = randomUUID();
    const forgedPayload = Buffer.from(JSON.stringify({ u: other, c: 'marketing' })).toString(
      'base64url',
    );
    const bad = [
      `${forgedPayload}.${mac}`, // another user's id under this signature
      `${payload}.${mac!.slice(0, -2)}AA`, // altered signature
      createUnsubscribeTokens('another-secret-0123456789abcdef0123456789').sign({
        userId: u.id,
        category: 'marketing',
      }),
      sign(u.id, 'security'), // cannot be turned off
      'garbage',
      '',
    ];
    for (const token of bad) {
      const res = await api(
        svc.url,
        `/api/v1/notifications/unsubscribe?token=${encodeURIComponent(token)}`,
        { method: 'POST' },
      );
      expect([400, 422]).toContain(res.status);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    }
    expect((await svc.deps.settings.get(u.id)).categories.marketing.email).toBe(true);
  });
});

describe('inbox', () => {
  test("list, unread count, mark read, mark all read: only the caller's own", async () => {
    const a = await user();
    const b = await user();
    const first = await inboxItem(a.id, 'first');
    await inboxItem(a.id, 'second');
    const bItem = await inboxItem(b.id, 'for b');
    const list = await api(svc.url, '/api/v1/notifications/inbox', { token: a.token });
    expect(list.status).toBe(200);
    expect(list.body.items.map((i: { title: string }) => i.title)).toEqual(['second', 'first']);
    expect(
      (await api(svc.url, '/api/v1/notifications/inbox/unread-count', { token: a.token })).body,
    ).toEqual({ unread: 2 });

    // IDOR: a marks b's item: 404, b's stays unread.
    const idor = await api(svc.url, `/api/v1/notifications/inbox/${bItem}/read`, {
      method: 'POST',
      token: a.token,
    });
    expect(idor.status).toBe(404);
    expect(await svc.deps.inbox.unreadCount(b.id)).toBe(1);

    expect(
      (
        await api(svc.url, `/api/v1/notifications/inbox/${first}/read`, {
          method: 'POST',
          token: a.token,
        })
      ).status,
    ).toBe(204);
    expect(
      (await api(svc.url, '/api/v1/notifications/inbox?unread=true', { token: a.token })).body
        .items,
    ).toHaveLength(1);
    expect(
      (
        await api(svc.url, '/api/v1/notifications/inbox/read-all', {
          method: 'POST',
          token: a.token,
        })
      ).body,
    ).toEqual({ marked: 1 });
    expect(
      (await api(svc.url, '/api/v1/notifications/inbox/unread-count', { token: a.token })).body,
    ).toEqual({ unread: 0 });
    expect(await svc.deps.inbox.unreadCount(b.id)).toBe(1);
  });

  test('paging and bad input', async () => {
    const a = await user();
    for (let i = 0; i < 3; i++) await inboxItem(a.id, `n${i}`);
    const page1 = await api(svc.url, '/api/v1/notifications/inbox?limit=2', { token: a.token });
    expect(page1.body.items).toHaveLength(2);
    const page2 = await api(
      svc.url,
      `/api/v1/notifications/inbox?limit=2&before=${page1.body.next}`,
      { token: a.token },
    );
    expect(page2.body.items.map((i: { title: string }) => i.title)).toEqual(['n0']);
    expect(
      (await api(svc.url, '/api/v1/notifications/inbox?limit=0', { token: a.token })).status,
    ).toBe(422);
    expect(
      (await api(svc.url, '/api/v1/notifications/inbox?before=1%20OR%201=1', { token: a.token }))
        .status,
    ).toBe(422);
    expect(
      (
        await api(svc.url, '/api/v1/notifications/inbox/abc/read', {
          method: 'POST',
          token: a.token,
        })
      ).status,
    ).toBe(422);
    expect((await api(svc.url, '/api/v1/notifications/inbox')).status).toBe(401);
  });
});

type SseData = { id: string; title: string } & Record<string, unknown>;

/** Reads SSE events from a fetch stream until `count` arrived. */
async function readEvents(
  res: Response,
  count: number,
  ms = 10_000,
): Promise<Array<{ id: string; event: string; data: SseData }>> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: Array<{ id: string; event: string; data: SseData }> = [];
  let buffer = '';
  const deadline = Date.now() + ms;
  while (events.length < count && Date.now() < deadline) {
    const { value, done } = await Promise.race([
      reader.read(),
      new Promise<{ value: undefined; done: true }>((r) =>
        setTimeout(() => r({ value: undefined, done: true }), deadline - Date.now()),
      ),
    ]);
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = Object.fromEntries(
        block
          .split('\n')
          .filter((l) => l && !l.startsWith(':'))
          .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trimStart()]),
      );
      if (fields.event)
        events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) });
    }
  }
  await reader.cancel().catch(() => undefined);
  return events;
}

describe('SSE stream', () => {
  test("pushes the caller's new items live, never another user's", async () => {
    const a = await user();
    const b = await user();
    const controller = new AbortController();
    const res = await fetch(`${svc.url}/api/v1/notifications/stream`, {
      headers: { authorization: `Bearer ${a.token}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    await waitFor(async () => svc.deps.streams.size >= 1);
    const reading = readEvents(res, 2);
    await inboxItem(b.id, 'secret of b');
    await inboxItem(a.id, 'live 1');
    await inboxItem(a.id, 'live 2');
    const events = await reading;
    controller.abort();
    expect(events.map((e) => [e.event, e.data.title])).toEqual([
      ['notification', 'live 1'],
      ['notification', 'live 2'],
    ]);
    expect(events[0]!.id).toBe(events[0]!.data.id);
  });

  test('Last-Event-ID resumes with what was missed, in order', async () => {
    const a = await user();
    const seen = await inboxItem(a.id, 'seen');
    await inboxItem(a.id, 'missed 1');
    await inboxItem(a.id, 'missed 2');
    const controller = new AbortController();
    const res = await fetch(`${svc.url}/api/v1/notifications/stream`, {
      headers: { authorization: `Bearer ${a.token}`, 'last-event-id': seen },
      signal: controller.signal,
    });
    const events = await readEvents(res, 2);
    controller.abort();
    expect(events.map((e) => e.data.title)).toEqual(['missed 1', 'missed 2']);
  });

  test('at most 10 open streams per user: the 11th is a 429, another user is not affected', async () => {
    const a = await user();
    const b = await user();
    const controller = new AbortController();
    const open = (token: string) =>
      fetch(`${svc.url}/api/v1/notifications/stream`, {
        headers: { authorization: `Bearer ${token}` },
        signal: controller.signal,
      });
    try {
      for (let i = 0; i < 10; i++) expect((await open(a.token)).status).toBe(200);
      const extra = await open(a.token);
      expect(extra.status).toBe(429);
      await extra.text();
      expect((await open(b.token)).status).toBe(200);
    } finally {
      controller.abort();
    }
    await waitFor(async () => svc.deps.streams.admits(a.id));
  });

  test('no token: 401; a bad Last-Event-ID: 422', async () => {
    const anonymous = await fetch(`${svc.url}/api/v1/notifications/stream`);
    expect(anonymous.status).toBe(401);
    await anonymous.text();
    const a = await user();
    const res = await fetch(`${svc.url}/api/v1/notifications/stream`, {
      headers: { authorization: `Bearer ${a.token}`, 'last-event-id': '1; drop' },
    });
    expect(res.status).toBe(422);
    await res.text();
  });
});

describe('templates', () => {
  test('admins preview a template (HTML + text); missing variables are 422; others 403', async () => {
    const admin = await svc.token(randomUUID(), ['admin']);
    const list = await api(svc.url, '/api/v1/notifications/templates', { token: admin });
    expect(list.body.templates).toEqual(
      expect.arrayContaining(['welcome', 'password_reset', 'message']),
    );
    const preview = await api(svc.url, '/api/v1/notifications/templates/password_reset/preview', {
      method: 'POST',
      token: admin,
      body: { locale: 'ru', vars: { reset_url: 'https://x.test/r#token=1', expires_at: 'завтра' } },
    });
    expect(preview.status).toBe(200);
    expect(preview.body.subject).toBe('Сброс пароля Cinema');
    expect(preview.body.html).toMatch(/<!doctype html>/i);
    expect(preview.body.text).toContain('https://x.test/r#token=1');
    const missing = await api(svc.url, '/api/v1/notifications/templates/password_reset/preview', {
      method: 'POST',
      token: admin,
      body: { vars: {} },
    });
    expect(missing.status).toBe(422);
    const unknown = await api(svc.url, '/api/v1/notifications/templates/nope/preview', {
      method: 'POST',
      token: admin,
      body: { vars: {} },
    });
    expect(unknown.status).toBe(404);
    const user = await svc.token(randomUUID());
    expect((await api(svc.url, '/api/v1/notifications/templates', { token: user })).status).toBe(
      403,
    );
  });
});
