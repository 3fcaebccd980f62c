/**
 * The rules without I/O: preferences (defaults, locked categories, validation), quiet hours in
 * the user's time zone with a fake clock, the notifier's channel choices against in-memory
 * ports, the token bucket, unsubscribe tokens, and the templates (escaping, one-line subject).
 */
import { randomUUID } from 'node:crypto';
import { ValidationError } from '@cinema/errors';
import { FileTemplates } from '../src/adapters/templates';
import { createUnsubscribeTokens } from '../src/adapters/unsubscribe.tokens';
import type {
  DeliveriesRepository,
  NewInboxItem,
  PlannedDelivery,
  PreferenceSettings,
  Recipient,
} from '../src/domain/model';
import { Notifier, type NotifyRequest } from '../src/domain/notifier';
import { checkSettings, effective, quietUntil } from '../src/domain/preferences';
import { TokenBucket } from '../src/domain/rate';

describe('preferences', () => {
  test('defaults and locked switches', () => {
    const m = effective({ security: { email: false as never }, marketing: { email: true } });
    expect(m.security.email).toBe(true); // cannot be off even if stored
    expect(m.marketing).toEqual({ email: true, in_app: false, sms: false });
    expect(m.review_activity).toEqual({ email: true, in_app: true, sms: false });
    expect(m.security.sms).toBe(true);
  });

  test('turning off security or account e-mail / in-app is refused; SMS may be turned off', () => {
    expect(() => checkSettings({ account: { in_app: false } })).toThrow(ValidationError);
    expect(() => checkSettings({ security: { email: false } })).toThrow(/invalid preferences/);
    expect(checkSettings({ security: { sms: false } })).toEqual({ security: { sms: false } });
  });

  test('every bad field is listed at once', () => {
    try {
      checkSettings({ spam: { email: true }, marketing: { fax: true, email: 'yes' } });
      throw new Error('accepted');
    } catch (err) {
      expect(Object.keys((err as ValidationError).fields).sort()).toEqual([
        'body.categories.marketing.email',
        'body.categories.marketing.fax',
        'body.categories.spam',
      ]);
    }
  });
});

describe('quiet hours (fake clock)', () => {
  const q = { start: '22:00', end: '08:00' };
  test('inside hours that wrap midnight: until 08:00 local time', () => {
    // 23:30 in Moscow (UTC+3) = 20:30 UTC; the morning is 08:00 MSK = 05:00 UTC.
    expect(quietUntil(new Date('2026-06-01T20:30:00Z'), 'Europe/Moscow', q)?.toISOString()).toBe(
      '2026-06-02T05:00:00.000Z',
    );
    // 03:15 MSK = 00:15 UTC.
    expect(
      quietUntil(new Date('2026-06-02T00:15:42.123Z'), 'Europe/Moscow', q)?.toISOString(),
    ).toBe('2026-06-02T05:00:00.000Z');
  });

  test('outside: no delay; the same instant is quiet in one zone and not in another', () => {
    const at = new Date('2026-06-01T12:00:00Z'); // 15:00 MSK, 05:00 in Los Angeles
    expect(quietUntil(at, 'Europe/Moscow', q)).toBeUndefined();
    expect(quietUntil(at, 'America/Los_Angeles', q)?.toISOString()).toBe(
      '2026-06-01T15:00:00.000Z',
    );
    expect(quietUntil(at, 'UTC', null)).toBeUndefined();
  });

  test('hours within one day (13:00-14:00) and an unknown zone read as UTC', () => {
    expect(
      quietUntil(new Date('2026-06-01T13:20:00Z'), 'Nowhere/Land', {
        start: '13:00',
        end: '14:00',
      })?.toISOString(),
    ).toBe('2026-06-01T14:00:00.000Z');
    expect(
      quietUntil(new Date('2026-06-01T14:00:00Z'), 'UTC', { start: '13:00', end: '14:00' }),
    ).toBeUndefined();
  });
});

/* ---------- the notifier against in-memory ports ---------- */

function harness(
  recipient: Partial<Recipient> | undefined,
  settings: PreferenceSettings = {},
  now = '2026-06-01T12:00:00Z',
) {
  const planned: PlannedDelivery[] = [];
  const inbox: NewInboxItem[] = [];
  const deliveries: DeliveriesRepository = {
    plan: async (d, i) => {
      const fresh = d.filter(
        (x) =>
          !planned.some(
            (p) =>
              p.messageId === x.messageId && p.channel === x.channel && p.recipient === x.recipient,
          ),
      );
      planned.push(...fresh);
      inbox.push(...i);
      return { inserted: fresh.length, duplicates: d.length - fresh.length };
    },
    claim: async () => [],
    markSent: async () => undefined,
    markRetry: async () => undefined,
    markFailed: async () => undefined,
    releaseExpired: async () => 0,
  };
  const userId = randomUUID();
  const full: Recipient | undefined = recipient && {
    userId,
    email: 'ann@example.test',
    emailVerified: true,
    locale: 'en',
    timeZone: 'Europe/Moscow',
    phone: null,
    phoneVerified: false,
    firstName: 'Ann',
    roles: [],
    quietHours: null,
    deletedAt: null,
    ...recipient,
  };
  const clock = { now: new Date(now) };
  const notifier = new Notifier({
    recipients: { get: async () => full, apply: async () => true, erase: async () => undefined },
    preferences: { get: async () => settings, set: async () => undefined },
    deliveries,
    templates: new FileTemplates(),
    clock: () => clock.now,
    smsCategories: ['security'],
    smsEnabled: true,
    defaultQuietHours: null,
  });
  const notify = (r: Partial<NotifyRequest>) =>
    notifier.notify({
      messageId: randomUUID(),
      userId,
      category: 'marketing',
      template: 'message',
      vars: { title: 't', body: 'b' },
      channels: ['email', 'in_app', 'sms'],
      ...r,
    });
  return { notify, planned, inbox, clock };
}

describe('notifier', () => {
  test('a category turned off is skipped with the reason; marketing is opt-in', async () => {
    const h = harness({});
    const { outcomes } = await h.notify({ channels: ['email', 'in_app'] });
    expect(outcomes).toEqual([
      { channel: 'email', status: 'skipped', reason: 'turned off by the user' },
      { channel: 'in_app', status: 'skipped', reason: 'turned off by the user' },
    ]);
    expect(h.inbox).toHaveLength(0);
  });

  test('security goes even when the user turned everything off; SMS only to a verified phone', async () => {
    const off = { security: { email: false, in_app: false } } as PreferenceSettings;
    const unverified = harness({ phone: '+79990000000', phoneVerified: false }, off);
    const r1 = await unverified.notify({
      category: 'security',
      template: 'login_new_device',
      vars: { device: 'd', ip: null, method: 'password' },
    });
    expect(r1.outcomes.map((o) => [o.channel, o.status, o.reason])).toEqual([
      ['email', 'queued', undefined],
      ['in_app', 'sent', undefined],
      ['sms', 'skipped', 'no verified phone'],
    ]);
    const verified = harness({ phone: '+79990000000', phoneVerified: true });
    const r2 = await verified.notify({
      category: 'security',
      template: 'login_new_device',
      vars: { device: 'd', ip: null, method: 'password' },
    });
    expect(r2.outcomes.find((o) => o.channel === 'sms')?.status).toBe('queued');
    expect(verified.planned.find((p) => p.channel === 'sms')).toMatchObject({
      address: '+79990000000',
      priority: 0,
    });
  });

  test('SMS only for the allowed categories, even when the user turned it on', async () => {
    const h = harness(
      { phone: '+79990000000', phoneVerified: true },
      { marketing: { email: true, sms: true } },
    );
    const { outcomes } = await h.notify({});
    expect(outcomes.find((o) => o.channel === 'sms')).toEqual({
      channel: 'sms',
      status: 'skipped',
      reason: 'SMS does not carry marketing',
    });
  });

  test('non-transactional mail only to verified addresses; account mail to unverified ones too', async () => {
    const h = harness({ emailVerified: false }, { marketing: { email: true } });
    expect((await h.notify({ channels: ['email'] })).outcomes[0]).toMatchObject({
      status: 'skipped',
      reason: 'e-mail address not verified',
    });
    expect(
      (
        await h.notify({
          channels: ['email'],
          category: 'account',
          template: 'welcome',
          vars: { name: null, verification_url: 'u', expires_at: 'e' },
        })
      ).outcomes[0]!.status,
    ).toBe('queued');
  });

  test("quiet hours delay marketing e-mail to the morning in the user's zone; security mail goes at once", async () => {
    // 23:30 in Moscow.
    const h = harness(
      { quietHours: { start: '22:00', end: '08:00' } },
      { marketing: { email: true } },
      '2026-06-01T20:30:00Z',
    );
    await h.notify({ channels: ['email', 'in_app'], category: 'marketing' });
    await h.notify({
      channels: ['email'],
      category: 'security',
      template: 'login_new_device',
      vars: { device: 'd', ip: null, method: 'p' },
    });
    const marketing = h.planned.find((p) => p.category === 'marketing' && p.channel === 'email')!;
    const security = h.planned.find((p) => p.category === 'security')!;
    expect(marketing.notBefore.toISOString()).toBe('2026-06-02T05:00:00.000Z');
    expect(security.notBefore.toISOString()).toBe('2026-06-01T20:30:00.000Z');
    expect(security.priority).toBeLessThan(marketing.priority);
  });

  test('the same message id twice plans nothing new', async () => {
    const h = harness({}, { marketing: { email: true, in_app: true } });
    const messageId = randomUUID();
    await h.notify({ messageId });
    const again = await h.notify({ messageId });
    expect(again.duplicates).toBe(3);
    expect(h.planned).toHaveLength(3);
  });

  test('an unknown recipient: skipped, nothing sent; a missing template variable: 422 before anything is stored', async () => {
    const h = harness(undefined);
    expect((await h.notify({ channels: ['email'] })).outcomes[0]).toMatchObject({
      status: 'skipped',
      reason: 'unknown recipient',
    });
    const k = harness({}, { marketing: { in_app: true } });
    await expect(k.notify({ channels: ['in_app'], vars: { title: 't' } })).rejects.toThrow(
      ValidationError,
    );
    expect(k.planned).toHaveLength(0);
  });
});

describe('token bucket', () => {
  test('rate per second, bursts of one second, waits when empty; 0 = unlimited', () => {
    let t = 0;
    const b = new TokenBucket(10, () => t);
    expect(b.available()).toBe(10);
    for (let i = 0; i < 10; i++) expect(b.take()).toBe(0);
    expect(b.take()).toBe(100); // the 11th waits 100 ms
    t += 1000;
    expect(b.available()).toBe(9);
    expect(new TokenBucket(0).take()).toBe(0);
    expect(new TokenBucket(0).available()).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('unsubscribe tokens', () => {
  const tokens = createUnsubscribeTokens('secret-0123456789abcdef0123456789abcdef');
  const userId = randomUUID();
  test('round trip; altered, forged or foreign tokens are refused', () => {
    const token = tokens.sign({ userId, category: 'marketing' });
    expect(tokens.verify(token)).toEqual({ userId, category: 'marketing' });
    const [payload, mac] = token.split('.');
    const other = Buffer.from(JSON.stringify({ u: randomUUID(), c: 'marketing' })).toString(
      'base64url',
    );
    expect(tokens.verify(`${other}.${mac}`)).toBeUndefined();
    expect(tokens.verify(`${payload}.${mac}x`)).toBeUndefined();
    expect(tokens.verify(`${payload}`)).toBeUndefined();
    expect(tokens.verify(`${payload}.${mac}.x`)).toBeUndefined();
    expect(
      createUnsubscribeTokens('another-secret-0123456789abcdef0123').verify(token),
    ).toBeUndefined();
    const badCategory = Buffer.from(JSON.stringify({ u: userId, c: 'everything' })).toString(
      'base64url',
    );
    expect(tokens.verify(`${badCategory}.${mac}`)).toBeUndefined();
  });
});

describe('templates', () => {
  const t = new FileTemplates();
  test('HTML escapes values, the subject is one line (no header injection), text is plain', async () => {
    const m = await t.email('message', 'en', {
      title: 'Hi\r\nBcc: victim@example.test',
      body: '<script>x</script>',
      unsubscribe_url: 'https://u.test/x?token=a&b',
    });
    expect(m.subject).toBe('Hi Bcc: victim@example.test');
    expect(m.html).not.toContain('<script>x</script>');
    expect(m.html).toContain('&lt;script&gt;');
    expect(m.html).toContain('Unsubscribe');
    expect(m.text).toContain('<script>x</script>'); // text/plain: nothing to escape
  });

  test('MJML runs once per template and locale; each mail gets its own escaped link', async () => {
    const cached = new FileTemplates();
    const vars = { title: 'Premiere', body: 'Tonight' };
    const a = await cached.email('message', 'en', {
      ...vars,
      unsubscribe_url: 'https://u.test/unsub?token=A1&x="1"',
    });
    const b = await cached.email('message', 'en', {
      ...vars,
      unsubscribe_url: 'https://u.test/unsub?token=B2',
    });
    expect(cached.mjmlRenders).toBe(1);
    expect(a.html).toContain('href="https://u.test/unsub?token&#x3D;A1&amp;x&#x3D;&quot;1&quot;"');
    expect(b.html).toBe(
      a.html
        .split('https://u.test/unsub?token&#x3D;A1&amp;x&#x3D;&quot;1&quot;')
        .join('https://u.test/unsub?token&#x3D;B2'),
    );
    expect(b.html).not.toContain('urn-unsubscribe-');
    // Transactional mail has no link: the footer's conditional drops it (a separate render).
    const none = await cached.email('message', 'en', { ...vars, unsubscribe_url: null });
    expect(none.html).not.toContain('Unsubscribe');
    expect(cached.mjmlRenders).toBe(2);
    // A variable cannot forge the placeholder: it is random per process.
    const other = await new FileTemplates().email('message', 'en', {
      ...vars,
      unsubscribe_url: 'https://u.test/unsub?token=C3',
    });
    expect(other.html).toBe(
      b.html.split('https://u.test/unsub?token&#x3D;B2').join('https://u.test/unsub?token&#x3D;C3'),
    );
    expect((await cached.email('message', 'ru', { ...vars, unsubscribe_url: null })).html).not.toBe(
      none.html,
    );
  });

  test('en and ru; a missing variable is a ValidationError', async () => {
    const vars = {
      reset_url: 'https://r.test/#token=1',
      expires_at: 'soon',
      unsubscribe_url: null,
    };
    expect((await t.email('password_reset', 'en', vars)).subject).toBe(
      'Reset your Cinema password',
    );
    expect((await t.email('password_reset', 'ru', vars)).subject).toBe('Сброс пароля Cinema');
    await expect(t.email('password_reset', 'en', { unsubscribe_url: null })).rejects.toThrow(
      /expires_at|reset_url/,
    );
    expect(t.sms('login_new_device', 'en', { device: 'Phone', ip: null, method: 'p' })).toMatch(
      /new sign-in from Phone/,
    );
  });
});
