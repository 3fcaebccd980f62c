import { checkPassword, normalizeEmail, withoutSecret } from './auth.service';
import { DEFAULT_ROLE, type PasswordHasher, type Store, type User } from './model';

/**
 * Creates a super_user (with admin and public_user), or makes an existing account one and sets
 * its password. Used by the `createsuperuser` CLI.
 */
export async function createSuperuser(
  store: Store,
  hasher: PasswordHasher,
  email: string,
  password: string,
): Promise<{ user: User; created: boolean }> {
  const normalized = normalizeEmail(email);
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(normalized)) throw new Error('not an e-mail address');
  checkPassword(password, 'password', normalized);
  const passwordHash = await hasher.hash(password);
  return store.transaction(async (tx) => {
    const existing = await tx.users.byEmail(normalized);
    if (existing) {
      await tx.users.setPassword(existing.id, passwordHash);
      for (const name of ['admin', 'super_user']) {
        const role = await tx.roles.byName(name);
        if (!role) throw new Error(`role ${name} is missing: run the migrations`);
        await tx.roles.assign(existing.id, role.id);
      }
      return { user: withoutSecret((await tx.users.byId(existing.id))!), created: false };
    }
    const user = await tx.users.create({
      email: normalized,
      passwordHash,
      roles: [DEFAULT_ROLE, 'admin', 'super_user'],
    });
    return { user, created: true };
  });
}
