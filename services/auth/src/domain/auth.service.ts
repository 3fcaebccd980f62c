/**
 * The auth use cases: accounts, password and OAuth login, refresh-token rotation with reuse
 * detection, sessions, password reset, login history and roles. No HTTP, no drivers: the ports
 * in model.ts are implemented in adapters/.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from '@cinema/errors';
import { parseDevice, type DeviceType } from './device';
import {
  DEFAULT_ROLE,
  SYSTEM_ROLES,
  type AccessTokenSigner,
  type ClientInfo,
  type EventKey,
  type Limiter,
  type LoginHistoryEntry,
  type OutboxNotifier,
  type Page,
  type PasswordHasher,
  type Repositories,
  type Role,
  type Session,
  type Store,
  type User,
} from './model';

export interface AuthSettings {
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  refreshReuseGraceSeconds: number;
  passwordResetTtlSeconds: number;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  /** Lifetime of the access token in seconds. */
  expiresIn: number;
}

/** Who calls an admin use case. */
export interface Actor {
  id: string;
  roles: string[];
}

export interface OAuthIdentity {
  provider: string;
  subject: string;
  email?: string;
  emailVerified: boolean;
  firstName?: string;
  lastName?: string;
}

const INVALID_LOGIN = 'invalid email or password';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const normalizeEmail = (email: string) => email.trim().toLowerCase();
export const hashToken = (token: string) => createHash('sha256').update(token).digest();
const newToken = () => randomBytes(32).toString('base64url');

export function assertUuid(value: string, field: string): void {
  if (!UUID.test(value)) {
    throw new ValidationError(`${field} is not a UUID`, {
      [field]: { message: 'must be a UUID', value },
    });
  }
}

export class AuthService {
  constructor(
    private readonly store: Store,
    private readonly hasher: PasswordHasher,
    private readonly signer: AccessTokenSigner,
    private readonly limiter: Limiter,
    private readonly settings: AuthSettings,
    private readonly notifyOutbox: OutboxNotifier = () => undefined,
  ) {}

  /* ---------- accounts ---------- */

  async register(
    input: { email: string; password: string; firstName?: string; lastName?: string },
    client: ClientInfo,
  ): Promise<User> {
    const email = normalizeEmail(input.email);
    await this.limiter.hitIp('register', client.ip ?? 'unknown');
    await this.limiter.hitAccount('register', email);
    checkPassword(input.password, 'body.password', email);
    const passwordHash = await this.hasher.hash(input.password);
    const user = await this.store.transaction(async (tx) => {
      const created = await tx.users.create({
        email,
        passwordHash,
        firstName: input.firstName ?? null,
        lastName: input.lastName ?? null,
        roles: [DEFAULT_ROLE],
      });
      await this.event(tx, 'user.registered', {
        user_id: created.id,
        email: created.email,
        first_name: created.firstName,
        last_name: created.lastName,
        method: 'password',
      });
      return created;
    });
    this.notifyOutbox();
    return user;
  }

  async profile(userId: string): Promise<User> {
    const user = await this.store.users.byId(userId);
    if (!user) throw new NotFoundError('no such user');
    return withoutSecret(user);
  }

  async updateProfile(
    userId: string,
    fields: { email?: string; firstName?: string | null; lastName?: string | null },
  ): Promise<User> {
    const user = await this.store.users.update(userId, {
      ...fields,
      email: fields.email === undefined ? undefined : normalizeEmail(fields.email),
    });
    if (!user) throw new NotFoundError('no such user');
    return user;
  }

  /** Changes the password and ends every other session of the user. */
  async changePassword(
    userId: string,
    sessionId: string | undefined,
    currentPassword: string,
    newPassword: string,
  ): Promise<void> {
    const user = await this.store.users.byId(userId);
    if (!user) throw new NotFoundError('no such user');
    if (!user.passwordHash || !(await this.hasher.verify(user.passwordHash, currentPassword))) {
      throw new ForbiddenError('the current password is wrong');
    }
    checkPassword(newPassword, 'body.newPassword', user.email);
    const hash = await this.hasher.hash(newPassword);
    await this.store.transaction(async (tx) => {
      await tx.users.setPassword(userId, hash);
      await tx.sessions.revokeAll(userId, 'password changed', sessionId);
    });
  }

  /* ---------- login and tokens ---------- */

  async login(email: string, password: string, client: ClientInfo): Promise<TokenPair> {
    const normalized = normalizeEmail(email);
    await this.limiter.hitIp('login', client.ip ?? 'unknown');
    await this.limiter.checkLockout(normalized);
    const user = await this.store.users.byEmail(normalized);
    // Same work and same answer for an unknown user, an account without a password, a wrong
    // password and a disabled account.
    let ok = false;
    if (user?.passwordHash) ok = await this.hasher.verify(user.passwordHash, password);
    else await this.hasher.verifyDummy(password);
    if (!ok || !user || !user.isActive) {
      await this.limiter.loginFailed(normalized);
      if (user) {
        await this.store.history.add({
          userId: user.id,
          deviceType: parseDevice(client.userAgent).type,
          success: false,
          method: 'password',
          userAgent: client.userAgent,
          ip: client.ip,
        });
      }
      throw new UnauthorizedError(INVALID_LOGIN);
    }
    await this.limiter.loginSucceeded(normalized);
    return this.startSession(withoutSecret(user), client, 'password');
  }

  /** Login through an external OpenID provider: links by verified e-mail, creates if new. */
  async oauthLogin(identity: OAuthIdentity, client: ClientInfo): Promise<TokenPair> {
    const { user, created } = await this.store.transaction(async (tx) => {
      const linked = await tx.users.bySocial(identity.provider, identity.subject);
      if (linked) return { user: withoutSecret(linked), created: false };
      if (!identity.email || !identity.emailVerified) {
        throw new ForbiddenError(`${identity.provider} did not confirm a verified e-mail address`);
      }
      const email = normalizeEmail(identity.email);
      const existing = await tx.users.byEmail(email);
      if (existing) {
        await tx.users.linkSocial(identity.provider, identity.subject, existing.id, email);
        return { user: withoutSecret(existing), created: false };
      }
      const fresh = await tx.users.create({
        email,
        passwordHash: null,
        firstName: identity.firstName ?? null,
        lastName: identity.lastName ?? null,
        roles: [DEFAULT_ROLE],
      });
      await tx.users.linkSocial(identity.provider, identity.subject, fresh.id, email);
      await this.event(tx, 'user.registered', {
        user_id: fresh.id,
        email: fresh.email,
        first_name: fresh.firstName,
        last_name: fresh.lastName,
        method: identity.provider,
      });
      return { user: fresh, created: true };
    });
    if (created) this.notifyOutbox();
    if (!user.isActive) throw new ForbiddenError('the account is disabled');
    return this.startSession(user, client, identity.provider);
  }

  private async startSession(user: User, client: ClientInfo, method: string): Promise<TokenPair> {
    const device = parseDevice(client.userAgent);
    const sessionId = randomUUID();
    const refreshToken = newToken();
    const now = Date.now();
    const expiresAt = new Date(now + this.settings.refreshTokenTtlSeconds * 1000);
    const newDevice = await this.store.transaction(async (tx) => {
      await tx.sessions.create({
        id: sessionId,
        userId: user.id,
        deviceType: device.type,
        userAgent: client.userAgent,
        ip: client.ip,
        method,
        expiresAt,
      });
      await tx.sessions.addRefreshToken(hashToken(refreshToken), sessionId, expiresAt);
      await tx.history.add({
        userId: user.id,
        deviceType: device.type,
        success: true,
        method,
        userAgent: client.userAgent,
        ip: client.ip,
      });
      const seen = await tx.devices.remember(user.id, device.fingerprint);
      if (seen.isNew && !seen.firstDevice) {
        await this.event(tx, 'user.login_new_device', {
          user_id: user.id,
          email: user.email,
          session_id: sessionId,
          device_type: device.type,
          device: device.description,
          ip: client.ip ?? null,
          method,
        });
        return true;
      }
      return false;
    });
    if (newDevice) this.notifyOutbox();
    return this.tokens(user, sessionId, refreshToken);
  }

  /**
   * Rotates a refresh token. A token used before is accepted within the grace window (another
   * tab refreshed at the same moment: a sibling token of the same family is issued); later, its
   * reuse means it was stolen, and the whole family (the session) is revoked.
   */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const hash = hashToken(refreshToken);
    const next = newToken();
    const outcome = await this.store.transaction(async (tx) => {
      const row = await tx.sessions.refreshTokenForUpdate(hash);
      if (!row) return { error: 'unknown refresh token' } as const;
      const { session } = row;
      const now = Date.now();
      if (session.revokedAt) return { error: 'the session has ended' } as const;
      if (session.expiresAt.getTime() <= now || row.expiresAt.getTime() <= now) {
        return { error: 'the refresh token has expired' } as const;
      }
      if (row.usedAt) {
        const graceEnds = row.usedAt.getTime() + this.settings.refreshReuseGraceSeconds * 1000;
        if (now > graceEnds) {
          await tx.sessions.revoke(session.id, 'refresh token reuse');
          return { error: 'refresh token reuse detected; the session is revoked' } as const;
        }
      } else {
        await tx.sessions.markRefreshTokenUsed(hash);
      }
      await tx.sessions.addRefreshToken(hashToken(next), session.id, session.expiresAt);
      await tx.sessions.touch(session.id);
      const user = await tx.users.byId(session.userId);
      if (!user || !user.isActive) {
        await tx.sessions.revoke(session.id, 'account disabled');
        return { error: 'the account is disabled' } as const;
      }
      return { user: withoutSecret(user), sessionId: session.id } as const;
    });
    if ('error' in outcome) throw new UnauthorizedError(outcome.error);
    return this.tokens(outcome.user, outcome.sessionId, next);
  }

  private async tokens(user: User, sessionId: string, refreshToken: string): Promise<TokenPair> {
    const accessToken = await this.signer.sign({
      sub: user.id,
      sid: sessionId,
      roles: user.roles,
      email: user.email,
    });
    return {
      accessToken,
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: this.settings.accessTokenTtlSeconds,
    };
  }

  async logout(userId: string, sessionId: string | undefined): Promise<void> {
    if (!sessionId) throw new BadRequestError('the access token names no session');
    const session = await this.store.sessions.byId(sessionId);
    if (!session || session.userId !== userId) throw new NotFoundError('no such session');
    await this.store.sessions.revoke(sessionId, 'logout');
  }

  async logoutAll(userId: string): Promise<number> {
    return this.store.sessions.revokeAll(userId, 'logout everywhere');
  }

  /** Used by the service's own token check: a logged-out session's tokens stop working here. */
  isSessionActive(sessionId: string): Promise<boolean> {
    return this.store.sessions.isActive(sessionId);
  }

  async sessions(userId: string): Promise<Session[]> {
    return this.store.sessions.listActive(userId);
  }

  async revokeSession(userId: string, sessionId: string): Promise<void> {
    assertUuid(sessionId, 'sessionId');
    const session = await this.store.sessions.byId(sessionId);
    if (!session || session.userId !== userId || session.revokedAt) {
      throw new NotFoundError('no such active session');
    }
    await this.store.sessions.revoke(sessionId, 'revoked by user');
  }

  async loginHistory(
    userId: string,
    opts: { page: number; pageSize: number; deviceType?: DeviceType },
  ): Promise<Page<LoginHistoryEntry>> {
    return this.store.history.page(userId, opts);
  }

  /* ---------- password reset ---------- */

  /** Always succeeds (no account enumeration); an existing account gets a reset event. */
  async requestPasswordReset(email: string, client: ClientInfo): Promise<void> {
    const normalized = normalizeEmail(email);
    await this.limiter.hitIp('reset', client.ip ?? 'unknown');
    await this.limiter.hitAccount('reset', normalized);
    const user = await this.store.users.byEmail(normalized);
    if (!user || !user.isActive) return;
    const token = newToken();
    const expiresAt = new Date(Date.now() + this.settings.passwordResetTtlSeconds * 1000);
    await this.store.transaction(async (tx) => {
      await tx.resets.create(hashToken(token), user.id, expiresAt);
      await this.event(tx, 'user.password_reset_requested', {
        user_id: user.id,
        email: user.email,
        reset_token: token,
        expires_at: expiresAt.toISOString(),
      });
    });
    this.notifyOutbox();
  }

  /** Sets a new password with a single-use token and ends every session of the account. */
  async confirmPasswordReset(token: string, newPassword: string): Promise<void> {
    checkPassword(newPassword, 'body.newPassword');
    const hash = await this.hasher.hash(newPassword);
    const email = await this.store.transaction(async (tx) => {
      const userId = await tx.resets.consume(hashToken(token));
      if (!userId) return undefined;
      await tx.users.setPassword(userId, hash);
      await tx.sessions.revokeAll(userId, 'password reset');
      return (await tx.users.byId(userId))?.email;
    });
    if (!email) throw new BadRequestError('the reset token is invalid, used or expired');
    await this.limiter.loginSucceeded(email);
  }

  /* ---------- roles ---------- */

  listRoles(): Promise<Role[]> {
    return this.store.roles.list();
  }

  async createRole(name: string, description: string): Promise<Role> {
    return this.store.roles.create(name, description);
  }

  async updateRole(id: string, fields: { name?: string; description?: string }): Promise<Role> {
    assertUuid(id, 'roleId');
    const role = await this.store.roles.byId(id);
    if (!role) throw new NotFoundError('no such role');
    if (role.system && fields.name !== undefined && fields.name !== role.name) {
      throw new ConflictError(`the system role ${role.name} cannot be renamed`);
    }
    return (await this.store.roles.update(id, fields))!;
  }

  async deleteRole(id: string): Promise<void> {
    assertUuid(id, 'roleId');
    const role = await this.store.roles.byId(id);
    if (!role) throw new NotFoundError('no such role');
    if (role.system) throw new ConflictError(`the system role ${role.name} cannot be deleted`);
    await this.store.roles.remove(id);
  }

  async userRoles(userId: string): Promise<string[]> {
    assertUuid(userId, 'userId');
    if (!(await this.store.users.byId(userId))) throw new NotFoundError('no such user');
    return this.store.roles.rolesOf(userId);
  }

  /**
   * Grants a role. Only a super_user grants super_user or changes the roles of a super_user
   * (so an admin can never demote one).
   */
  async assignRole(actor: Actor, userId: string, roleName: string): Promise<string[]> {
    const { target, role } = await this.roleChange(actor, userId, roleName);
    await this.store.roles.assign(target, role.id);
    return this.store.roles.rolesOf(target);
  }

  async revokeRole(actor: Actor, userId: string, roleName: string): Promise<string[]> {
    const { target, role, targetRoles } = await this.roleChange(actor, userId, roleName);
    if (role.name === DEFAULT_ROLE) {
      throw new ConflictError(`${DEFAULT_ROLE} is every user's role and cannot be revoked`);
    }
    if (!targetRoles.includes(role.name))
      throw new NotFoundError('the user does not have this role');
    if (role.name === 'super_user' && actor.id === target) {
      throw new ConflictError('a super_user cannot demote themself');
    }
    await this.store.roles.revoke(target, role.id);
    return this.store.roles.rolesOf(target);
  }

  private async roleChange(actor: Actor, userId: string, roleName: string) {
    assertUuid(userId, 'userId');
    const user = await this.store.users.byId(userId);
    if (!user) throw new NotFoundError('no such user');
    const role = await this.store.roles.byName(roleName);
    if (!role) throw new NotFoundError(`no role named ${roleName}`);
    const actorIsSuper = actor.roles.includes('super_user');
    if (!actorIsSuper && (role.name === 'super_user' || user.roles.includes('super_user'))) {
      throw new ForbiddenError('only a super_user can change super_user roles');
    }
    return { target: user.id, role, targetRoles: user.roles };
  }

  private async event(
    tx: Repositories,
    key: EventKey,
    data: Record<string, unknown>,
  ): Promise<void> {
    await tx.outbox.add(key, {
      message_id: randomUUID(),
      type: key,
      occurred_at: new Date().toISOString(),
      ...data,
    });
  }
}

export { SYSTEM_ROLES };

export function withoutSecret(user: User & { passwordHash?: string | null }): User {
  const { passwordHash: _omit, ...rest } = user;
  return rest;
}

/** Length is checked by the API schema; this adds what a schema cannot say. */
export function checkPassword(password: string, field: string, email?: string): void {
  const problems: string[] = [];
  if (password.length < 8) problems.push('must be at least 8 characters');
  if (password.length > 128) problems.push('must be at most 128 characters');
  if (new Set(password).size < 4) problems.push('must use at least 4 different characters');
  if (
    email &&
    password.toLowerCase().includes(email.split('@')[0]!) &&
    email.split('@')[0]!.length > 3
  )
    problems.push('must not contain the e-mail name');
  if (problems.length) {
    throw new ValidationError('the password is too weak', {
      [field]: { message: problems.join('; ') },
    });
  }
}
