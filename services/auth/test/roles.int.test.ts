import request from 'supertest';
import { createSuperuser } from '../src/domain/superuser';
import { createStore } from '../src/adapters/db';
import { createPasswordHasher } from '../src/adapters/password.hasher';
import { dropSchema, startService, suffix, type TestService } from './helpers';

let s: TestService;
const password = 'correct horse battery';

beforeAll(async () => {
  s = await startService();
});
afterAll(async () => {
  await s.close();
  await dropSchema(s.schema);
});

async function user() {
  const email = `r-${suffix()}@example.com`;
  const reg = await request(s.app).post('/api/v1/auth/register').send({ email, password });
  return { email, id: reg.body.id as string };
}
async function tokenOf(email: string) {
  const r = await request(s.app).post('/api/v1/auth/login').send({ email, password });
  expect(r.status).toBe(200);
  return { Authorization: `Bearer ${r.body.accessToken}` };
}

describe('roles', () => {
  it('guards role endpoints, manages roles, and protects super_users from admins', async () => {
    const hasher = createPasswordHasher({ memoryCost: 4096, timeCost: 1, parallelism: 1 });
    const superEmail = `super-${suffix()}@example.com`;
    const su = await createSuperuser(createStore(s.c.pool), hasher, superEmail, password);
    expect(su.user.roles.sort()).toEqual(['admin', 'public_user', 'super_user']);
    const superAuth = await tokenOf(superEmail);

    const plain = await user();
    const plainAuth = await tokenOf(plain.email);
    expect((await request(s.app).get('/api/v1/auth/roles').set(plainAuth)).status).toBe(403);
    expect((await request(s.app).get('/api/v1/auth/roles')).status).toBe(401);

    // super_user makes an admin; the admin's next token carries the role.
    const admin = await user();
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
});
