import request from 'supertest';
import { createSuperuser } from '../src/domain/superuser';
import { createStore } from '../src/adapters/db';
import { createPasswordHasher } from '../src/adapters/password.hasher';
import { dropSchema, startService, suffix, type TestService } from './helpers';
import { deleteMailsTo, mailTo, tokenIn } from './mail';

let s: TestService;
const password = 'correct horse battery';

beforeAll(async () => {
  s = await startService();
});
const used: string[] = [];
afterAll(async () => {
  await s.close();
  await dropSchema(s.schema);
  await deleteMailsTo(...used);
});

async function user() {
  const email = `r-${suffix()}@example.com`;
  used.push(email);
  const reg = await request(s.app).post('/api/v1/auth/register').send({ email, password });
  return { email, id: reg.body.id as string };
}
/** Opens the verification link mailed on register (admin roles need a verified address). */
async function verified<T extends { email: string }>(u: T): Promise<T> {
  const token = tokenIn(await mailTo(u.email, /confirm your e-mail address/i));
  await request(s.app).post('/api/v1/auth/email/verify').send({ token }).expect(204);
  return u;
}
const hasher = createPasswordHasher({ memoryCost: 4096, timeCost: 1, parallelism: 1 });
async function superUser() {
  const email = `super-${suffix()}@example.com`;
  const su = await createSuperuser(createStore(s.c.pool), hasher, email, password);
  return { email, id: su.user.id, auth: await tokenOf(email) };
}
async function tokenOf(email: string) {
  const r = await request(s.app).post('/api/v1/auth/login').send({ email, password });
  expect(r.status).toBe(200);
  return { Authorization: `Bearer ${r.body.accessToken}` };
}

describe('roles', () => {
  it('guards role endpoints, manages roles, and protects super_users from admins', async () => {
    const superEmail = `super-${suffix()}@example.com`;
    const su = await createSuperuser(createStore(s.c.pool), hasher, superEmail, password);
    expect(su.user.roles.sort()).toEqual(['admin', 'public_user', 'super_user']);
    const superAuth = await tokenOf(superEmail);

    const plain = await user();
    const plainAuth = await tokenOf(plain.email);
    expect((await request(s.app).get('/api/v1/auth/roles').set(plainAuth)).status).toBe(403);
    expect((await request(s.app).get('/api/v1/auth/roles')).status).toBe(401);

    // super_user makes an admin (of a verified address only); the admin's next token has it.
    const admin = await user();
    const unverified = await request(s.app)
      .post(`/api/v1/auth/users/${admin.id}/roles`)
      .set(superAuth)
      .send({ role: 'admin' });
    expect(unverified.status).toBe(409);
    await verified(admin);
    const grant = await request(s.app)
      .post(`/api/v1/auth/users/${admin.id}/roles`)
      .set(superAuth)
      .send({ role: 'admin' });
    expect(grant.status).toBe(200);
    expect(grant.body.roles).toEqual(['admin', 'public_user']);
    const adminAuth = await tokenOf(admin.email);

    const list = await request(s.app).get('/api/v1/auth/roles').set(adminAuth);
    expect(list.status).toBe(200);
    expect(list.body.map((r: { name: string }) => r.name)).toEqual(
      expect.arrayContaining(['admin', 'public_user', 'super_user']),
    );

    // Role CRUD by an admin.
    const created = await request(s.app)
      .post('/api/v1/auth/roles')
      .set(adminAuth)
      .send({ name: 'editor', description: 'Edits the catalog' });
    expect(created.status).toBe(201);
    expect(
      (await request(s.app).post('/api/v1/auth/roles').set(adminAuth).send({ name: 'editor' }))
        .status,
    ).toBe(409);
    expect(
      (await request(s.app).post('/api/v1/auth/roles').set(adminAuth).send({ name: 'Bad Name!' }))
        .status,
    ).toBe(422);
    const renamed = await request(s.app)
      .patch(`/api/v1/auth/roles/${created.body.id}`)
      .set(adminAuth)
      .send({ name: 'content_editor' });
    expect(renamed.body).toMatchObject({
      name: 'content_editor',
      description: 'Edits the catalog',
    });
    const sys = list.body.find((r: { name: string }) => r.name === 'admin');
    expect(
      (
        await request(s.app)
          .patch(`/api/v1/auth/roles/${sys.id}`)
          .set(adminAuth)
          .send({ name: 'boss' })
      ).status,
    ).toBe(409);
    expect(
      (await request(s.app).delete(`/api/v1/auth/roles/${sys.id}`).set(adminAuth)).status,
    ).toBe(409);
    expect(
      (
        await request(s.app)
          .post(`/api/v1/auth/users/${plain.id}/roles`)
          .set(adminAuth)
          .send({ role: 'content_editor' })
      ).body.roles,
    ).toEqual(['content_editor', 'public_user']);
    expect(
      (await request(s.app).delete(`/api/v1/auth/roles/${created.body.id}`).set(adminAuth)).status,
    ).toBe(204);
    expect(
      (await request(s.app).get(`/api/v1/auth/users/${plain.id}/roles`).set(adminAuth)).body.roles,
    ).toEqual(['public_user']);
    expect(
      (await request(s.app).delete(`/api/v1/auth/roles/${created.body.id}`).set(adminAuth)).status,
    ).toBe(404);

    // An admin cannot grant super_user, nor demote a super_user.
    expect(
      (
        await request(s.app)
          .post(`/api/v1/auth/users/${plain.id}/roles`)
          .set(adminAuth)
          .send({ role: 'super_user' })
      ).status,
    ).toBe(403);
    for (const role of ['super_user', 'admin']) {
      const demote = await request(s.app)
        .delete(`/api/v1/auth/users/${su.user.id}/roles/${role}`)
        .set(adminAuth);
      expect(demote.status).toBe(403);
    }
    expect(
      (await request(s.app).get(`/api/v1/auth/users/${su.user.id}/roles`).set(adminAuth)).body
        .roles,
    ).toEqual(['admin', 'public_user', 'super_user']);

    // A super_user can; public_user stays; bad ids are 4xx.
    expect(
      (await request(s.app).delete(`/api/v1/auth/users/${admin.id}/roles/admin`).set(superAuth))
        .body.roles,
    ).toEqual(['public_user']);
    expect(
      (
        await request(s.app)
          .delete(`/api/v1/auth/users/${admin.id}/roles/public_user`)
          .set(superAuth)
      ).status,
    ).toBe(409);
    expect((await request(s.app).get('/api/v1/auth/users/nope/roles').set(superAuth)).status).toBe(
      422,
    );
    expect(
      (
        await request(s.app)
          .get('/api/v1/auth/users/00000000-0000-4000-8000-000000000000/roles')
          .set(superAuth)
      ).status,
    ).toBe(404);
    expect(
      (
        await request(s.app)
          .post(`/api/v1/auth/users/${admin.id}/roles`)
          .set(superAuth)
          .send({ role: 'no_such_role' })
      ).status,
    ).toBe(404);
    // The demoted admin's next token has no admin role.
    const demoted = await tokenOf(admin.email);
    expect((await request(s.app).get('/api/v1/auth/roles').set(demoted)).status).toBe(403);
  });

  it("reads the caller's roles from the database, not from the token (item 7)", async () => {
    const su = await superUser();
    const admin = await verified(await user());
    await request(s.app)
      .post(`/api/v1/auth/users/${admin.id}/roles`)
      .set(su.auth)
      .send({ role: 'admin' })
      .expect(200);
    const adminAuth = await tokenOf(admin.email);
    const target = await verified(await user());
    expect((await request(s.app).get('/api/v1/auth/roles').set(adminAuth)).status).toBe(200);
    // The admin role goes away behind the token's back (not through the API, so the session
    // stays open): the token still says admin, the database does not.
    await s.c.pool.query(
      `DELETE FROM user_roles WHERE user_id = $1 AND role_id = (SELECT id FROM roles WHERE name = 'admin')`,
      [admin.id],
    );
    expect((await request(s.app).get('/api/v1/auth/me').set(adminAuth)).status).toBe(200);
    const regrant = await request(s.app)
      .post(`/api/v1/auth/users/${admin.id}/roles`)
      .set(adminAuth)
      .send({ role: 'admin' });
    expect(regrant.status).toBe(403);
    const grantOther = await request(s.app)
      .post(`/api/v1/auth/users/${target.id}/roles`)
      .set(adminAuth)
      .send({ role: 'admin' });
    expect(grantOther.status).toBe(403);
    for (const [method, path] of [
      ['get', '/api/v1/auth/roles'],
      ['get', `/api/v1/auth/users/${target.id}/roles`],
    ] as const) {
      expect((await request(s.app)[method](path).set(adminAuth)).status).toBe(403);
    }
    expect(
      (await request(s.app).post('/api/v1/auth/roles').set(adminAuth).send({ name: 'sneaky' }))
        .status,
    ).toBe(403);
    expect(
      (await request(s.app).get(`/api/v1/auth/users/${admin.id}/roles`).set(su.auth)).body.roles,
    ).toEqual(['public_user']);
  });

  it('a role change ends every session of that user (item 7)', async () => {
    const su = await superUser();
    const admin = await verified(await user());
    await request(s.app)
      .post(`/api/v1/auth/users/${admin.id}/roles`)
      .set(su.auth)
      .send({ role: 'admin' })
      .expect(200);
    const login = await request(s.app)
      .post('/api/v1/auth/login')
      .send({ email: admin.email, password });
    const adminAuth = { Authorization: `Bearer ${login.body.accessToken}` };
    const other = await tokenOf(admin.email);
    expect((await request(s.app).get('/api/v1/auth/roles').set(adminAuth)).status).toBe(200);

    // Demoted: the tokens that still say admin stop working, and their refresh tokens too.
    const demote = await request(s.app)
      .delete(`/api/v1/auth/users/${admin.id}/roles/admin`)
      .set(su.auth);
    expect(demote.status).toBe(200);
    for (const auth of [adminAuth, other]) {
      expect((await request(s.app).get('/api/v1/auth/roles').set(auth)).status).toBe(401);
      expect((await request(s.app).get('/api/v1/auth/me').set(auth)).status).toBe(401);
    }
    expect(
      (
        await request(s.app)
          .post('/api/v1/auth/refresh')
          .send({ refreshToken: login.body.refreshToken })
      ).status,
    ).toBe(401);
    const sessions = await s.c.pool.query(
      `SELECT revoked_reason FROM sessions WHERE user_id = $1 ORDER BY created_at`,
      [admin.id],
    );
    expect(sessions.rows.map((r) => r.revoked_reason)).toEqual(
      sessions.rows.map(() => 'roles changed'),
    );

    // A grant ends them too (the next login carries the role), and so does deleting a role
    // the user has.
    const plain = await user();
    const plainAuth = await tokenOf(plain.email);
    const role = await request(s.app)
      .post('/api/v1/auth/roles')
      .set(su.auth)
      .send({ name: `critic_${suffix().replace(/\W/g, '')}`.slice(0, 40).toLowerCase() });
    expect(role.status).toBe(201);
    await request(s.app)
      .post(`/api/v1/auth/users/${plain.id}/roles`)
      .set(su.auth)
      .send({ role: role.body.name })
      .expect(200);
    expect((await request(s.app).get('/api/v1/auth/me').set(plainAuth)).status).toBe(401);
    const plainAgain = await tokenOf(plain.email);
    await request(s.app).delete(`/api/v1/auth/roles/${role.body.id}`).set(su.auth).expect(204);
    expect((await request(s.app).get('/api/v1/auth/me').set(plainAgain)).status).toBe(401);
  });
});
