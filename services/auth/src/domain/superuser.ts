import { ConflictError } from '@cinema/errors';
import { checkPassword, normalizeEmail, withoutSecret } from './auth.service';
import { DEFAULT_ROLE, type PasswordHasher, type Store, type User } from './model';

/**
 * Creates a super_user (with admin and public_user). An existing account is made one only when
 * asked explicitly (`promoteExisting`): its password is set, its address counts as verified (the
 * operator vouches for it) and every one of its sessions ends, so no token or refresh token
 * issued before the promotion (perhaps to someone else) carries on with the new roles. Used by
 * the `createsuperuser` CLI.
 */
export async function createSuperuser(
  store: Store,
  hasher: PasswordHasher,
  email: string,
  password: string,
  options: { promoteExisting?: boolean } = {},
): Promise<{ user: User; created: boolean; sessionsEnded: number }> {
  const normalized = normalizeEmail(email);
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(normalized)) throw new Error('not an e-mail address');
  checkPassword(password, 'password', normalized);
  const passwordHash = await hasher.hash(password);
  return store.transaction(async (tx) => {
    const existing = await tx.users.byEmail(normalized);
    if (existing) {
      if (!options.promoteExisting) {
        throw new ConflictError(
          `an account with ${normalized} exists; run again with --promote-existing to make it ` +
            `a super_user (its password is replaced and all of its sessions end)`,
        );
      }
      await tx.users.setPassword(existing.id, passwordHash);
      await tx.users.markEmailVerified(existing.id, existing.email);
      for (const name of ['admin', 'super_user']) {
        const role = await tx.roles.byName(name);
        if (!role) throw new Error(`role ${name} is missing: run the migrations`);
        await tx.roles.assign(existing.id, role.id);
      }
      const sessionsEnded = await tx.sessions.revokeAll(existing.id, 'promoted to super_user');
      return {
        user: withoutSecret((await tx.users.byId(existing.id))!),
        created: false,
        sessionsEnded,
      };
    }
    const user = await tx.users.create({
      email: normalized,
      passwordHash,
      roles: [DEFAULT_ROLE, 'admin', 'super_user'],
      emailVerified: true,
    });
    return { user, created: true, sessionsEnded: 0 };
  });
}
