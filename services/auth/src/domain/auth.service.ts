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
  type Links,
  type Mail,
  type Mailer,
  type LoginHistoryEntry,
  type OutboxNotifier,
  type Page,
  type PasswordHasher,
  type ProfileFields,
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
  /** Lifetime of the link that verifies an account's address. */
  verifyEmailTtlSeconds: number;
  /** Lifetime of the link that confirms a new address. */
  emailChangeTtlSeconds: number;
  /** An account without a password changes its address only this soon after logging in. */
  reauthMaxAgeSeconds: number;
}

/** Sends the account mails (verification, e-mail change, reset) and builds their links. */
export interface AccountMail {
  mailer: Mailer;
  links: Links;
}

const NO_MAIL: AccountMail = {
  mailer: { send: () => undefined },
  links: {
    verifyEmail: (t) => `#token=${t}`,
    confirmEmailChange: (t) => `#token=${t}`,
    resetPassword: (t) => `#token=${t}`,
  },
};

/** Roles that may manage roles, read from the database on every call (not from the token). */
const ROLE_MANAGERS = ['admin', 'super_user'];
/** Roles an account gets only once its address is verified. */
const PRIVILEGED_ROLES = ['admin', 'super_user'];

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  /** Lifetime of the access token in seconds. */
  expiresIn: number;
}

/** Who calls an admin use case (their roles are read from the database). */
export interface Actor {
  id: string;
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
    private readonly mail: AccountMail = NO_MAIL,
  ) {}

  private send(mail: Mail): void {
    this.mail.mailer.send(mail);
  }

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
    const token = newToken();
    const expiresAt = this.expiry(this.settings.verifyEmailTtlSeconds);
    const link = this.mail.links.verifyEmail(token);
    const user = await this.store.transaction(async (tx) => {
      const created = await tx.users.create({
        email,
        passwordHash,
        firstName: input.firstName ?? null,
        lastName: input.lastName ?? null,
        roles: [DEFAULT_ROLE],
      });
      await tx.emailTokens.create(hashToken(token), {
        userId: created.id,
        purpose: 'verify',
        email: created.email,
        expiresAt,
      });
      await this.event(tx, 'user.registered', {
        user_id: created.id,
        email: created.email,
        first_name: created.firstName,
        last_name: created.lastName,
        method: 'password',
        email_verified: false,
        verification_token: token,
        verification_url: link,
        verification_expires_at: expiresAt.toISOString(),
      });
      return created;
    });
    this.notifyOutbox();
    this.send({ kind: 'verify_email', to: user.email, link, expiresAt });
    return user;
  }

  private expiry(seconds: number): Date {
    return new Date(Date.now() + seconds * 1000);
  }

  /* ---------- e-mail verification and change ---------- */

  /** Mails a new verification link (the older ones stop working). */
  async resendVerification(userId: string, client: ClientInfo): Promise<void> {
    await this.limiter.hitIp('verify_email', client.ip ?? 'unknown');
    await this.limiter.hitAccount('verify_email', userId);
    const user = await this.store.users.byId(userId);
    if (!user) throw new NotFoundError('no such user');
    if (user.emailVerified) throw new ConflictError('the e-mail address is already verified');
    const token = newToken();
    const expiresAt = this.expiry(this.settings.verifyEmailTtlSeconds);
    const link = this.mail.links.verifyEmail(token);
    await this.store.transaction(async (tx) => {
      await tx.emailTokens.create(hashToken(token), {
        userId,
        purpose: 'verify',
        email: user.email,
        expiresAt,
      });
      await this.event(tx, 'user.email_verification_requested', {
        user_id: userId,
        email: user.email,
        verification_token: token,
        verification_url: link,
        expires_at: expiresAt.toISOString(),
      });
    });
    this.notifyOutbox();
    this.send({ kind: 'verify_email', to: user.email, link, expiresAt });
  }

  /** Confirms an address with the single-use link mailed to it. */
  async verifyEmail(token: string): Promise<void> {
    const ok = await this.store.transaction(async (tx) => {
      const t = await tx.emailTokens.consume(hashToken(token), 'verify');
      // The address may have changed since the link was sent: it proves nothing then.
      if (!t || !(await tx.users.markEmailVerified(t.userId, t.email))) return false;
      await this.event(tx, 'user.email_verified', { user_id: t.userId, email: t.email });
      await this.userUpdated(tx, t.userId);
      return true;
    });
    if (!ok) throw new BadRequestError('the verification link is invalid, used or expired');
    this.notifyOutbox();
  }

  /**
   * Asks to change the address. Needs the current password (an account without one: a login
   * less than reauthMaxAgeSeconds ago). Nothing changes until the link mailed to the new address
   * is opened; the current address is told. The answer is the same whether or not the new
   * address belongs to another account (which then gets no link).
   */
  async requestEmailChange(
    userId: string,
    sessionId: string | undefined,
    input: { newEmail: string; currentPassword?: string },
    client: ClientInfo,
  ): Promise<void> {
    await this.limiter.hitIp('email_change', client.ip ?? 'unknown');
    await this.limiter.hitAccount('email_change', userId);
    const user = await this.store.users.byId(userId);
    if (!user) throw new NotFoundError('no such user');
    await this.reauthenticate(user, sessionId, input.currentPassword);
    const newEmail = normalizeEmail(input.newEmail);
    if (newEmail === user.email) {
      throw new ValidationError('the new e-mail address is the current one', {
        'body.newEmail': { message: 'is the current address', value: input.newEmail },
      });
    }
    const taken = Boolean(await this.store.users.byEmail(newEmail));
    const token = newToken();
    const expiresAt = this.expiry(this.settings.emailChangeTtlSeconds);
    const link = this.mail.links.confirmEmailChange(token);
    await this.store.transaction(async (tx) => {
      // A newer request ends the older link either way (and costs alike: no timing oracle).
      if (taken) await tx.emailTokens.revokeAll(userId, 'email_change');
      else {
        await tx.emailTokens.create(hashToken(token), {
          userId,
          purpose: 'email_change',
          email: newEmail,
          expiresAt,
        });
      }
      await this.event(tx, 'user.email_change_requested', {
        user_id: userId,
        email: user.email,
        new_email: newEmail,
        expires_at: expiresAt.toISOString(),
        // A taken address gets no link (the requester is not told: no enumeration).
        ...(taken ? {} : { confirm_token: token, confirm_url: link }),
      });
    });
    this.notifyOutbox();
    if (!taken) this.send({ kind: 'email_change_confirm', to: newEmail, link, expiresAt });
    this.send({ kind: 'email_change_notice', to: user.email, newEmail });
  }

  /** Opens the link mailed to the new address: the account takes it, verified. */
  async confirmEmailChange(token: string): Promise<void> {
    const changed = await this.store.transaction(async (tx) => {
      const t = await tx.emailTokens.consume(hashToken(token), 'email_change');
      if (!t) return undefined;
      const user = await tx.users.byId(t.userId);
      if (!user) return undefined;
      // ConflictError (another account took the address meanwhile) rolls the use back.
      await tx.users.changeEmail(user.id, t.email);
      // Links sent to the old address open nothing any more.
      await tx.resets.revokeAll(user.id);
      await tx.emailTokens.revokeAll(user.id, 'verify');
      await this.event(tx, 'user.email_changed', {
        user_id: user.id,
        email: t.email,
        old_email: user.email,
      });
      await this.userUpdated(tx, user.id);
      return user.email;
    });
    if (!changed) throw new BadRequestError('the confirmation link is invalid, used or expired');
    this.notifyOutbox();
  }

  /**
   * Proves the caller is the account's owner before a sensitive change: the current password
   * (each evaluation reserved against the lockout first), or, for an account without one, a
   * login of this session less than reauthMaxAgeSeconds ago.
   */
  private async reauthenticate(
    user: User & { passwordHash: string | null },
    sessionId: string | undefined,
    currentPassword: string | undefined,
  ): Promise<void> {
    if (user.passwordHash) {
      if (!currentPassword) throw new ForbiddenError('the current password is required');
      await this.limiter.reserveAttempt(`reauth:${user.id}`);
      if (!(await this.hasher.verify(user.passwordHash, currentPassword))) {
        throw new ForbiddenError('the current password is wrong');
      }
      await this.limiter.attemptSucceeded(`reauth:${user.id}`);
      return;
    }
    const session = sessionId ? await this.store.sessions.byId(sessionId) : undefined;
    const maxAge = this.settings.reauthMaxAgeSeconds;
    if (
      !session ||
      session.userId !== user.id ||
      session.createdAt.getTime() < Date.now() - maxAge * 1000
    ) {
      throw new ForbiddenError(
        `log in again (less than ${Math.round(maxAge / 60)} minutes ago) to make this change`,
      );
    }
  }

  async profile(userId: string): Promise<User> {
    const user = await this.store.users.byId(userId);
    if (!user) throw new NotFoundError('no such user');
    return withoutSecret(user);
  }

  /**
   * Names, language and time zone (the address changes through requestEmailChange). A change
   * publishes `user.updated` in the same transaction.
   */
  async updateProfile(userId: string, fields: ProfileFields): Promise<User> {
    checkProfile(fields);
    const user = await this.store.transaction(async (tx) => {
      const before = await tx.users.byId(userId);
      if (!before) return undefined;
      const after = await tx.users.update(userId, {
        firstName: fields.firstName,
        lastName: fields.lastName,
        locale: fields.locale,
        timeZone: fields.timeZone,
      });
      if (after && profileChanged(before, after))
        await this.event(tx, 'user.updated', snapshot(after));
      return after;
    });
    if (!user) throw new NotFoundError('no such user');
    this.notifyOutbox();
    return user;
  }

  /**
   * Deletes the caller's account (current password, or a recent login for an account without
   * one): personal data emptied, address freed, every session and link ended; `user.deleted`
   * goes out in the same transaction (notifications erases what it holds of the user).
   */
  async deleteAccount(
    userId: string,
    sessionId: string | undefined,
    currentPassword: string | undefined,
  ): Promise<void> {
    const user = await this.store.users.byId(userId);
    if (!user) throw new NotFoundError('no such user');
    await this.reauthenticate(user, sessionId, currentPassword);
    const erased = await this.store.transaction(async (tx) => {
      if (!(await tx.users.erase(userId))) return false;
      await tx.sessions.revokeAll(userId, 'account deleted');
      await tx.resets.revokeAll(userId);
      await tx.emailTokens.revokeAll(userId, 'verify');
      await tx.emailTokens.revokeAll(userId, 'email_change');
      await this.event(tx, 'user.deleted', { user_id: userId });
      return true;
    });
    if (!erased) throw new NotFoundError('no such user');
    this.notifyOutbox();
  }

  /** Every account, a page at a time (admin and super_user, as the database says now). */
  async listUsers(actor: Actor, opts: { page: number; pageSize: number }): Promise<Page<User>> {
    await this.requireRoleManager(actor);
    return this.store.users.page(opts);
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
    if (!user.passwordHash) throw new ForbiddenError('the current password is wrong');
    // Each evaluation is reserved first: repeated wrong passwords lock the change (429).
    await this.limiter.reserveAttempt(`reauth:${user.id}`);
    if (!(await this.hasher.verify(user.passwordHash, currentPassword))) {
      throw new ForbiddenError('the current password is wrong');
    }
    await this.limiter.attemptSucceeded(`reauth:${user.id}`);
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
    // Counted before the evaluation (refunded on success): parallel attempts cannot overrun it.
    await this.limiter.reserveAttempt(normalized);
    const user = await this.store.users.byEmail(normalized);
    // Same work and same answer for an unknown user, an account without a password, a wrong
    // password and a disabled account.
    let ok = false;
    if (user?.passwordHash) ok = await this.hasher.verify(user.passwordHash, password);
    else await this.hasher.verifyDummy(password);
    if (!ok || !user || !user.isActive) {
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
    await this.limiter.attemptSucceeded(normalized);
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
        // Anyone can register any address: only a proven one may be taken over by the provider
        // (else an attacker's pre-registered account would get the victim's Google login).
        if (!existing.emailVerified) {
          throw new ForbiddenError(
            `an account with ${email} exists but its address is not verified: log in with its ` +
              `password and confirm the address (or reset the password) before signing in ` +
              `with ${identity.provider}`,
          );
        }
        await tx.users.linkSocial(identity.provider, identity.subject, existing.id, email);
        return { user: withoutSecret(existing), created: false };
      }
      const fresh = await tx.users.create({
        email,
        passwordHash: null,
        firstName: identity.firstName ?? null,
        lastName: identity.lastName ?? null,
        roles: [DEFAULT_ROLE],
        emailVerified: true,
      });
      await tx.users.linkSocial(identity.provider, identity.subject, fresh.id, email);
      await this.event(tx, 'user.registered', {
        user_id: fresh.id,
        email: fresh.email,
        first_name: fresh.firstName,
        last_name: fresh.lastName,
        method: identity.provider,
        email_verified: true,
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
      email_verified: user.emailVerified,
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
    const expiresAt = this.expiry(this.settings.passwordResetTtlSeconds);
    const link = this.mail.links.resetPassword(token);
    await this.store.transaction(async (tx) => {
      await tx.resets.create(hashToken(token), user.id, expiresAt);
      await this.event(tx, 'user.password_reset_requested', {
        user_id: user.id,
        email: user.email,
        reset_token: token,
        reset_url: link,
        expires_at: expiresAt.toISOString(),
      });
    });
    this.notifyOutbox();
    this.send({ kind: 'password_reset', to: user.email, link, expiresAt });
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
      const user = await tx.users.byId(userId);
      // The token was mailed to the current address (an address change ends reset tokens):
      // opening it proves the address too.
      if (user && (await tx.users.markEmailVerified(userId, user.email)) && !user.emailVerified) {
        await this.userUpdated(tx, userId);
      }
      return user?.email;
    });
    if (!email) throw new BadRequestError('the reset token is invalid, used or expired');
    this.notifyOutbox();
    await this.limiter.attemptSucceeded(email);
  }

  /* ---------- roles ---------- */

  /**
   * The caller's roles as they are now in the database (a token's roles are up to 15 minutes
   * old: a demoted admin must not act on them).
   */
  private async requireRoleManager(actor: Actor): Promise<string[]> {
    const roles = await this.store.roles.rolesOf(actor.id);
    if (!roles.some((r) => ROLE_MANAGERS.includes(r))) {
      throw new ForbiddenError('requires the role admin or super_user');
    }
    return roles;
  }

  async listRoles(actor: Actor): Promise<Role[]> {
    await this.requireRoleManager(actor);
    return this.store.roles.list();
  }

  async createRole(actor: Actor, name: string, description: string): Promise<Role> {
    await this.requireRoleManager(actor);
    return this.store.roles.create(name, description);
  }

  async updateRole(
    actor: Actor,
    id: string,
    fields: { name?: string; description?: string },
  ): Promise<Role> {
    assertUuid(id, 'roleId');
    await this.requireRoleManager(actor);
    const role = await this.store.roles.byId(id);
    if (!role) throw new NotFoundError('no such role');
    if (role.system && fields.name !== undefined && fields.name !== role.name) {
      throw new ConflictError(`the system role ${role.name} cannot be renamed`);
    }
    return (await this.store.roles.update(id, fields))!;
  }

  /** Deletes a role; the users who had it lose it, and their sessions end. */
  async deleteRole(actor: Actor, id: string): Promise<void> {
    assertUuid(id, 'roleId');
    await this.requireRoleManager(actor);
    const role = await this.store.roles.byId(id);
    if (!role) throw new NotFoundError('no such role');
    if (role.system) throw new ConflictError(`the system role ${role.name} cannot be deleted`);
    await this.store.transaction(async (tx) => {
      const holders = await tx.roles.holders(id);
      await tx.roles.remove(id);
      for (const userId of holders) {
        await tx.sessions.revokeAll(userId, 'roles changed');
        await this.userUpdated(tx, userId);
      }
    });
    this.notifyOutbox();
  }

  async userRoles(actor: Actor, userId: string): Promise<string[]> {
    assertUuid(userId, 'userId');
    await this.requireRoleManager(actor);
    if (!(await this.store.users.byId(userId))) throw new NotFoundError('no such user');
    return this.store.roles.rolesOf(userId);
  }

  /**
   * Grants a role. Only a super_user grants super_user or changes the roles of a super_user
   * (so an admin can never demote one); admin and super_user go only to verified addresses.
   * The user's sessions end: their next login carries the new roles.
   */
  async assignRole(actor: Actor, userId: string, roleName: string): Promise<string[]> {
    const { target, role, targetRoles, verified } = await this.roleChange(actor, userId, roleName);
    if (targetRoles.includes(role.name)) return targetRoles;
    if (PRIVILEGED_ROLES.includes(role.name) && !verified) {
      throw new ConflictError(`${role.name} needs a verified e-mail address`);
    }
    const roles = await this.store.transaction(async (tx) => {
      await tx.roles.assign(target, role.id);
      await tx.sessions.revokeAll(target, 'roles changed');
      await this.userUpdated(tx, target);
      return tx.roles.rolesOf(target);
    });
    this.notifyOutbox();
    return roles;
  }

  /** Revokes a role; the user's sessions end (the old roles are in their tokens). */
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
    const roles = await this.store.transaction(async (tx) => {
      await tx.roles.revoke(target, role.id);
      await tx.sessions.revokeAll(target, 'roles changed');
      await this.userUpdated(tx, target);
      return tx.roles.rolesOf(target);
    });
    this.notifyOutbox();
    return roles;
  }

  private async roleChange(actor: Actor, userId: string, roleName: string) {
    assertUuid(userId, 'userId');
    const actorRoles = await this.requireRoleManager(actor);
    const user = await this.store.users.byId(userId);
    if (!user) throw new NotFoundError('no such user');
    const role = await this.store.roles.byName(roleName);
    if (!role) throw new NotFoundError(`no role named ${roleName}`);
    const actorIsSuper = actorRoles.includes('super_user');
    if (!actorIsSuper && (role.name === 'super_user' || user.roles.includes('super_user'))) {
      throw new ForbiddenError('only a super_user can change super_user roles');
    }
    return {
      target: user.id,
      role,
      targetRoles: user.roles,
      verified: user.emailVerified,
    };
  }

  /**
   * Writes `user.updated` with the account as it is now in the transaction (every field of the
   * contract, so a consumer never merges partial states), and marks the account changed.
   */
  private async userUpdated(tx: Repositories, userId: string): Promise<void> {
    await tx.users.touch(userId);
    const user = await tx.users.byId(userId);
    if (user) await this.event(tx, 'user.updated', snapshot(user));
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

/** The payload of `user.updated` (docs/contracts.md): the whole account, never a secret. */
export function snapshot(u: User): Record<string, unknown> {
  return {
    user_id: u.id,
    email: u.email,
    email_verified: u.emailVerified,
    first_name: u.firstName,
    last_name: u.lastName,
    locale: u.locale,
    time_zone: u.timeZone,
    roles: u.roles,
    is_active: u.isActive,
  };
}

function profileChanged(a: User, b: User): boolean {
  return (
    a.firstName !== b.firstName ||
    a.lastName !== b.lastName ||
    a.locale !== b.locale ||
    a.timeZone !== b.timeZone
  );
}

/** A BCP 47 language tag, simplified: language, optional script and region (`en`, `en-GB`, `sr-Latn-RS`). */
const LOCALE = /^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$/;

/** An IANA time zone name the runtime knows (`Europe/Moscow`, `UTC`). */
export function isTimeZone(zone: string): boolean {
  if (!zone || zone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** What a schema cannot say about the profile fields. */
export function checkProfile(fields: ProfileFields): void {
  const problems: Record<string, { message: string; value?: unknown }> = {};
  if (typeof fields.locale === 'string' && !LOCALE.test(fields.locale)) {
    problems['body.locale'] = {
      message: 'must be a BCP 47 language tag such as en, ru or en-GB',
      value: fields.locale,
    };
  }
  if (typeof fields.timeZone === 'string' && !isTimeZone(fields.timeZone)) {
    problems['body.timeZone'] = {
      message: 'must be an IANA time zone such as Europe/Moscow',
      value: fields.timeZone,
    };
  }
  if (Object.keys(problems).length) throw new ValidationError('invalid profile', problems);
}

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
