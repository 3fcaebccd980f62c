/**
 * Parity of the campaigns' batch path with the notifier: one corpus of recipients (verified,
 * unverified, bad or no address, deleted, preferences off per channel, quiet hours in a far time
 * zone, Russian locale, verified and unverified phones) is planned once through the runner's step
 * (CampaignPlanner, one statement per table) and once through `Notifier.notify` per recipient; the
 * deliveries and inbox rows must be the same but for the message id.
 */
import { randomUUID } from 'node:crypto';
import { createPool } from '@cinema/pg';
import { fakeClock, startService, type TestService } from './helpers';

let svc: TestService;
const time = fakeClock('2030-03-01T15:00:00Z'); // 00:00 in Tokyo

beforeAll(async () => {
  svc = await startService(
    {
      SMS_GATEWAY_URL: 'http://127.0.0.1:9/sms',
      SMS_CATEGORIES: 'security,new_films',
      DEFAULT_QUIET_HOURS: '',
    },
    { clock: time, start: false },
  );
});

afterAll(async () => {
  if (!svc) return;
  await svc.close();
  const pool = createPool(process.env.DATABASE_URL!, { max: 1 });
  await pool.query(`DROP SCHEMA IF EXISTS "${svc.schema}_jobs" CASCADE`);
  await pool.end();
});

test('the batch path plans exactly what the notifier plans', async () => {
  const r = svc.deps.recipients;
  const at = new Date('2030-01-01T00:00:00Z');
  const ids: string[] = [];
  const add = async (change: Record<string, unknown>) => {
    const id = randomUUID();
    await r.apply({ userId: id, ...change }, at);
    ids.push(id);
    return id;
  };
  await add({ email: 'ok@example.test', emailVerified: true });
  await add({ email: 'unverified@example.test', emailVerified: false });
  await add({ email: 'not-an-address', emailVerified: true });
  await add({ emailVerified: true });
  await add({ email: 'ru@example.test', emailVerified: true, locale: 'ru' });
  await add({
    email: 'tokyo@example.test',
    emailVerified: true,
    timeZone: 'Asia/Tokyo',
    quietHours: { start: '22:00', end: '08:00' },
  });
  await add({
    email: 'phone@example.test',
    emailVerified: true,
    phone: '+15550100',
    phoneVerified: true,
  });
  await add({
    email: 'phone2@example.test',
    emailVerified: true,
    phone: '+15550101',
    phoneVerified: false,
  });
  const emailOff = await add({ email: 'off@example.test', emailVerified: true });
  const inAppOff = await add({ email: 'inapp-off@example.test', emailVerified: true });
  const smsOn = await add({
    email: 'sms-on@example.test',
    emailVerified: true,
    phone: '+15550102',
    phoneVerified: true,
  });
  const deleted = await add({ email: 'gone@example.test', emailVerified: true });
  await svc.deps.pool.query(
    `INSERT INTO preferences (user_id, category, channel, enabled) VALUES
       ($1, 'new_films', 'email', false), ($2, 'new_films', 'in_app', false), ($3, 'new_films', 'sms', true)`,
    [emailOff, inAppOff, smsOn],
  );

  const campaign = await svc.deps.campaigns.create(
    {
      title: 'Parity',
      category: 'new_films',
      channels: ['email', 'in_app', 'sms'],
      template: 'message',
      vars: { title: 'Parity <b>', body: 'Body & more' },
      audience: { kind: 'ids', ids },
    },
    randomUUID(),
  );
  // Deleted after the audience was resolved (the step still sees the row, marked deleted).
  await r.erase(deleted, new Date('2030-01-02T00:00:00Z'));
  const step = await svc.deps.campaignRunner.step(campaign.id);
  expect(step.planned).toBe(ids.length);

  for (const userId of [...ids, randomUUID()]) {
    await svc.deps.notifier.notify({
      messageId: 'parity:notifier',
      userId,
      category: 'new_films',
      template: 'message',
      vars: campaign.vars,
      channels: campaign.channels,
      campaignId: campaign.id,
    });
  }

  const rows = async (messageId: string) =>
    (
      await svc.deps.pool.query(
        `SELECT recipient, channel, category, template, locale, vars, priority, status, reason,
           not_before, address, campaign_id, (sent_at IS NOT NULL) AS sent
         FROM deliveries WHERE message_id = $1 AND recipient = ANY($2::uuid[]) ORDER BY recipient, channel`,
        [messageId, ids],
      )
    ).rows;
  const inbox = async (messageId: string) =>
    (
      await svc.deps.pool.query(
        `SELECT user_id, category, title, body, link, data FROM inbox WHERE message_id = $1 ORDER BY user_id`,
        [messageId],
      )
    ).rows;
  const batch = await rows(`campaign:${campaign.id}`);
  const single = await rows('parity:notifier');
  expect(batch).toHaveLength(ids.length * 3);
  expect(batch).toEqual(single);
  expect(await inbox(`campaign:${campaign.id}`)).toEqual(await inbox('parity:notifier'));
  // The corpus covers every outcome.
  const reasons = new Set(batch.map((d) => `${d.channel}:${d.status}:${d.reason ?? ''}`));
  expect([...reasons].sort()).toEqual(
    expect.arrayContaining([
      'email:queued:',
      'email:skipped:e-mail address not verified',
      'email:skipped:no valid e-mail address',
      'email:skipped:turned off by the user',
      'email:skipped:recipient deleted',
      'in_app:sent:',
      'in_app:skipped:turned off by the user',
      'sms:queued:',
      'sms:skipped:turned off by the user',
    ]),
  );
  const tokyo = batch.find((d) => d.address === 'tokyo@example.test');
  expect(tokyo.not_before.toISOString()).toBe('2030-03-01T23:00:00.000Z'); // 08:00 in Tokyo
});
