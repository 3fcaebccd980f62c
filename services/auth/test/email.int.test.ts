/**
 * E-mail verification and e-mail change (issue 13, items 2 and 6) through the local mail
 * catcher, as a user would: links are read from the mails, never from the database.
 */
import request from 'supertest';
import { waitFor } from '@cinema/testing';
import { dropSchema, startService, suffix, type TestService } from './helpers';
import { deleteMailsTo, mailsTo, mailTo, tokenIn } from './mail';

let s: TestService;
const password = 'correct horse battery';
const used: string[] = [];
const address = (what: string) => {
  const e = `${what}-${suffix()}@example.com`;
  used.push(e);
  return e;
};

beforeAll(async () => {
  s = await startService({ RATE_LIMIT_ACCOUNT_PER_HOUR: '5' });
});
afterAll(async () => {
  await s.close();
  await dropSchema(s.schema);
  await deleteMailsTo(...used);
});

async function account(what: string) {
  const email = address(what);
  const reg = await request(s.app).post('/api/v1/auth/register').send({ email, password });
  expect(reg.status).toBe(201);
  const login = await request(s.app).post('/api/v1/auth/login').send({ email, password });
  expect(login.status).toBe(200);
  return {
    email,
    id: reg.body.id as string,
    auth: { Authorization: `Bearer ${login.body.accessToken}` },
  };
}
const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
const me = async (auth: Record<string, string>) =>
  (await request(s.app).get('/api/v1/auth/me').set(auth)).body as {
    email: string;
    emailVerified: boolean;
  };
const verify = (token: string) => request(s.app).post('/api/v1/auth/email/verify').send({ token });
const confirmChange = (token: string) =>
  request(s.app).post('/api/v1/auth/email/change/confirm').send({ token });
const changeEmail = (auth: Record<string, string>, body: object) =>
  request(s.app).post('/api/v1/auth/me/email').set(auth).send(body);

describe('e-mail verification (item 6)', () => {
  it('mails a link on register; the address is unverified until it is opened, once', async () => {
    const u = await account('verify');
    expect(await me(u.auth)).toMatchObject({ email: u.email, emailVerified: false });
    expect(claimsOf(u.auth.Authorization.slice(7)).email_verified).toBe(false);

    const mail = await mailTo(u.email, /confirm your e-mail address/i);
    const token = tokenIn(mail);
    expect(mail.text).toContain(`${s.config.ACCOUNT_LINKS_BASE_URL}/verify-email#token=`);
    expect((await verify('x'.repeat(43))).status).toBe(400);
    expect((await verify(token)).status).toBe(204);
    expect(await me(u.auth)).toMatchObject({ emailVerified: true });
    // Replaying the link does nothing more.
    expect((await verify(token)).status).toBe(400);
    const again = await request(s.app)
      .post('/api/v1/auth/login')
      .send({ email: u.email, password });
    expect(claimsOf(again.body.accessToken).email_verified).toBe(true);
    // Nothing to resend for a verified address.
    const resend = await request(s.app).post('/api/v1/auth/me/email/verification').set(u.auth);
    expect(resend.status).toBe(409);
  });

  it('a new link ends the older one', async () => {
    const u = await account('resend');
    const first = tokenIn(await mailTo(u.email, /confirm your e-mail address/i));
    const resend = await request(s.app).post('/api/v1/auth/me/email/verification').set(u.auth);
    expect(resend.status).toBe(202);
    const second = tokenIn(await mailTo(u.email, /confirm your e-mail address/i, { nth: 2 }));
    expect(second).not.toBe(first);
    expect((await verify(first)).status).toBe(400);
    expect((await verify(second)).status).toBe(204);
  });
});

describe('e-mail change (item 2)', () => {
  it('needs the current password, stays pending until the new address confirms, tells the old one', async () => {
    const u = await account('change');
    const next = address('changed');

    // The old way (PATCH /me with only an access token) changes nothing.
    const patch = await request(s.app).patch('/api/v1/auth/me').set(u.auth).send({ email: next });
    expect(patch.status).toBe(422);
    expect((await me(u.auth)).email).toBe(u.email);

    expect((await changeEmail(u.auth, { newEmail: next })).status).toBe(403);
    expect(
      (await changeEmail(u.auth, { newEmail: next, currentPassword: 'not the password' })).status,
    ).toBe(403);
    const asked = await changeEmail(u.auth, { newEmail: next, currentPassword: password });
    expect(asked.status).toBe(202);

    // Pending: the account keeps its address; the new one cannot log in nor get a reset.
    expect((await me(u.auth)).email).toBe(u.email);
    expect(
      (await request(s.app).post('/api/v1/auth/login').send({ email: next, password })).status,
    ).toBe(401);
    await request(s.app)
      .post('/api/v1/auth/password-reset/request')
      .send({ email: next })
      .expect(202);

    const notice = await mailTo(u.email, /being changed/i);
    expect(notice.text).toContain(next);
    expect(notice.text).not.toMatch(/#token=/);
    const confirm = await mailTo(next, /confirm your new e-mail address/i);
    expect(confirm.text).toContain(`${s.config.ACCOUNT_LINKS_BASE_URL}/confirm-email#token=`);
    await new Promise((r) => setTimeout(r, 500));
    expect((await mailsTo(next)).map((m) => m.subject)).toEqual([confirm.subject]); // no reset

    expect((await confirmChange(tokenIn(confirm))).status).toBe(204);
    expect(await me(u.auth)).toMatchObject({ email: next, emailVerified: true });
    expect((await confirmChange(tokenIn(confirm))).status).toBe(400); // once
    expect(
      (await request(s.app).post('/api/v1/auth/login').send({ email: next, password })).status,
    ).toBe(200);
    expect(
      (await request(s.app).post('/api/v1/auth/login').send({ email: u.email, password })).status,
    ).toBe(401);
  });

  it('answers alike whether or not the new address is taken (the taken one gets nothing), and is rate-limited', async () => {
    const victim = await account('victim');
    const attacker = await account('attacker');
    const free = address('free');
    const toTaken = await changeEmail(attacker.auth, {
      newEmail: victim.email.toUpperCase(),
      currentPassword: password,
    });
    const toFree = await changeEmail(attacker.auth, { newEmail: free, currentPassword: password });
    expect([toTaken.status, toTaken.text, toTaken.headers['content-type']]).toEqual([
      toFree.status,
      toFree.text,
      toFree.headers['content-type'],
    ]);
    expect(toTaken.status).toBe(202);
    await mailTo(free, /confirm your new e-mail address/i);
    await mailTo(attacker.email, /being changed/i, { nth: 2 });
    // The victim got only their own verification mail: no link to take over their address.
    expect((await mailsTo(victim.email)).map((m) => m.subject)).toEqual([
      'Confirm your e-mail address',
    ]);
    expect((await me(victim.auth)).email).toBe(victim.email);

    // RATE_LIMIT_ACCOUNT_PER_HOUR (5) requests per account, wrong passwords included.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (await changeEmail(attacker.auth, { newEmail: address('more'), currentPassword: password }))
          .status,
      );
    }
    expect(statuses).toEqual([202, 202, 202, 429]);
  });

  it('a link works once even when opened twice at once; a newer request and the change end older links', async () => {
    const u = await account('race');
    const a = address('race-a');
    const b = address('race-b');
    await changeEmail(u.auth, { newEmail: a, currentPassword: password }).expect(202);
    await changeEmail(u.auth, { newEmail: b, currentPassword: password }).expect(202);
    const linkA = tokenIn(await mailTo(a, /confirm your new/i));
    const linkB = tokenIn(await mailTo(b, /confirm your new/i));
    // A reset link mailed to the old address before the change...
    await request(s.app)
      .post('/api/v1/auth/password-reset/request')
      .send({ email: u.email })
      .expect(202);
    const reset = tokenIn(await mailTo(u.email, /reset your password/i));

    expect((await confirmChange(linkA)).status).toBe(400); // superseded by the request for b
    const both = await Promise.all([confirmChange(linkB), confirmChange(linkB)]);
    expect(both.map((r) => r.status).sort()).toEqual([204, 400]);
    expect((await me(u.auth)).email).toBe(b);
    // ...opens nothing once the address changed.
    const late = await request(s.app)
      .post('/api/v1/auth/password-reset/confirm')
      .send({ token: reset, newPassword: 'a new good secret' });
    expect(late.status).toBe(400);
  });

  it('a request for a taken address also ends the pending link (the newest request counts)', async () => {
    const u = await account('pending');
    const other = await account('taken');
    const a = address('pending-a');
    await changeEmail(u.auth, { newEmail: a, currentPassword: password }).expect(202);
    const link = tokenIn(await mailTo(a, /confirm your new/i));
    await changeEmail(u.auth, { newEmail: other.email, currentPassword: password }).expect(202);
    expect((await confirmChange(link)).status).toBe(400);
    expect((await me(u.auth)).email).toBe(u.email);
  });

  it('the raw tokens of the mailed links leave the outbox once the broker confirms, and are never logged (item 8)', async () => {
    const u = await account('scrub');
    const verifyToken = tokenIn(await mailTo(u.email, /confirm your e-mail address/i));
    const next = address('scrub-next');
    await changeEmail(u.auth, { newEmail: next, currentPassword: password }).expect(202);
    const changeToken = tokenIn(await mailTo(next, /confirm your new/i));
    await request(s.app)
      .post('/api/v1/auth/password-reset/request')
      .send({ email: u.email })
      .expect(202);
    const resetToken = tokenIn(await mailTo(u.email, /reset your password/i));

    const rows = async () =>
      (
        await s.c.pool.query<{ routing_key: string; published: boolean; payload: string }>(
          `SELECT routing_key, published_at IS NOT NULL AS published, payload::text AS payload
           FROM outbox WHERE payload->>'user_id' = $1 ORDER BY created_at`,
          [u.id],
        )
      ).rows;
    await waitFor(async () => (await rows()).every((r) => r.published), 20_000);
    const published = await rows();
    expect(published.map((r) => r.routing_key)).toEqual([
      'user.registered',
      'user.email_change_requested',
      'user.password_reset_requested',
    ]);
    for (const r of published) {
      for (const token of [verifyToken, changeToken, resetToken]) {
        expect(r.payload).not.toContain(token);
      }
      expect(r.payload).not.toMatch(/_token|_url/);
    }
    const logs = s.logs.join('');
    for (const token of [verifyToken, changeToken, resetToken]) expect(logs).not.toContain(token);
    // Still usable: scrubbing the outbox does not touch the (hashed) tokens.
    expect((await verify(verifyToken)).status).toBe(204);
  });
});
