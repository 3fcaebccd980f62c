/** The auth events handler against in-memory ports: what each event asks of the projection and the notifier. */
import { randomUUID } from 'node:crypto';
import { ValidationError } from '@cinema/errors';
import { AuthEventsHandler } from '../src/domain/auth-events';
import type { RecipientChange } from '../src/domain/model';
import type { Notifier, NotifyRequest } from '../src/domain/notifier';

function harness() {
  const applied: Array<{ change: RecipientChange; at: Date }> = [];
  const erased: string[] = [];
  const sent: NotifyRequest[] = [];
  const handler = new AuthEventsHandler(
    {
      get: async () => undefined,
      apply: async (change, at) => {
        applied.push({ change, at });
        return true;
      },
      erase: async (userId) => {
        erased.push(userId);
      },
    },
    {
      notify: async (r: NotifyRequest) => (sent.push(r), { outcomes: [], duplicates: 0 }),
    } as unknown as Notifier,
  );
  const handle = (routingKey: string, payload: unknown) =>
    handler.handle({
      messageId: 'm-1',
      routingKey,
      occurredAt: new Date('2026-06-01T00:00:00Z'),
      payload,
    });
  return { handle, applied, erased, sent };
}

const userId = randomUUID();

test('user.registered: projection first, then the welcome with the link (none when already verified)', async () => {
  const h = harness();
  await h.handle('user.registered', {
    user_id: userId,
    email: 'a@example.test',
    first_name: 'Ann',
    email_verified: false,
    verification_url: 'https://x/#token=1',
    verification_expires_at: 'later',
    locale: 'ru-RU',
    time_zone: 'Europe/Moscow',
  });
  expect(h.applied[0]!.change).toMatchObject({
    userId,
    email: 'a@example.test',
    emailVerified: false,
    locale: 'ru',
    timeZone: 'Europe/Moscow',
  });
  expect(h.sent[0]).toMatchObject({
    messageId: 'm-1',
    category: 'account',
    template: 'welcome',
    vars: { name: 'Ann', verification_url: 'https://x/#token=1' },
  });
  const v = harness();
  await v.handle('user.registered', {
    user_id: userId,
    email: 'a@example.test',
    email_verified: true,
    method: 'google',
  });
  expect(v.sent[0]!.vars).toMatchObject({ verification_url: null });
});

test('a reset whose link was scrubbed (expired in auth) sends nothing', async () => {
  const h = harness();
  await h.handle('user.password_reset_requested', {
    user_id: userId,
    email: 'a@example.test',
    expires_at: 'x',
  });
  expect(h.sent).toHaveLength(0);
});

test('e-mail change: two messages with derived ids; no link when the new address is taken', async () => {
  const h = harness();
  await h.handle('user.email_change_requested', {
    user_id: userId,
    email: 'old@example.test',
    new_email: 'new@example.test',
    expires_at: 'x',
    confirm_url: 'u',
  });
  expect(h.sent.map((s) => [s.messageId, s.emailTo, s.template])).toEqual([
    ['m-1:confirm', 'new@example.test', 'email_change_confirm'],
    ['m-1:notice', 'old@example.test', 'email_change_notice'],
  ]);
  const taken = harness();
  await taken.handle('user.email_change_requested', {
    user_id: userId,
    email: 'old@example.test',
    new_email: 'new@example.test',
    expires_at: 'x',
  });
  expect(taken.sent.map((s) => s.template)).toEqual(['email_change_notice']);
});

test('user.deleted erases; user.updated changes only what it carries', async () => {
  const h = harness();
  await h.handle('user.updated', { user_id: userId, phone: '+79990000000', phone_verified: true });
  expect(h.applied[0]!.change).toEqual({ userId, phone: '+79990000000', phoneVerified: true });
  await h.handle('user.deleted', { user_id: userId });
  expect(h.erased).toEqual([userId]);
});

test('malformed payloads and unknown routing keys are ValidationErrors (the DLQ at once), naming every bad field', async () => {
  const h = harness();
  await expect(h.handle('user.registered', null)).rejects.toThrow(ValidationError);
  await expect(h.handle('user.registered', [1])).rejects.toThrow(/not a JSON object/);
  await expect(h.handle('session.revoked', { user_id: userId })).rejects.toThrow(
    /unexpected routing key/,
  );
  try {
    await h.handle('user.updated', { user_id: 'x', time_zone: 'Mars/Base', email_verified: 'yes' });
    throw new Error('accepted');
  } catch (err) {
    expect(Object.keys((err as ValidationError).fields).sort()).toEqual([
      'email_verified',
      'time_zone',
      'user_id',
    ]);
  }
  expect(h.applied).toHaveLength(0);
  expect(h.sent).toHaveLength(0);
});
