/** Entities of the auth domain and the ports its use cases need (implemented in adapters/). */
import type { DeviceType } from './device';

export const SYSTEM_ROLES = ['public_user', 'admin', 'super_user'] as const;
export const DEFAULT_ROLE = 'public_user';

export interface User {
  id: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  isActive: boolean;
  /** The address was proven by a link sent to it (or vouched for by an OpenID provider). */
  emailVerified: boolean;
  roles: string[];
  /** BCP 47 language tag (`en`, `ru`, `en-GB`), or null when the user set none. */
  locale: string | null;
  /** IANA time zone (`Europe/Moscow`), or null when the user set none. */
  timeZone: string | null;
  createdAt: Date;
  /** Last change of the account (profile, address, verification, roles). */
  updatedAt: Date;
}

export interface UserWithSecret extends User {
  passwordHash: string | null;
}

export interface Role {
  id: string;
  name: string;
  description: string;
  system: boolean;
  createdAt: Date;
}

export interface Session {
  id: string;
  userId: string;
  deviceType: DeviceType;
  userAgent: string | null;
  ip: string | null;
  method: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

export interface RefreshTokenRow {
  sessionId: string;
  expiresAt: Date;
  usedAt: Date | null;
  session: Session;
}

export interface LoginHistoryEntry {
  id: string;
  deviceType: DeviceType;
  success: boolean;
  method: string;
  userAgent: string | null;
  ip: string | null;
  createdAt: Date;
}

export interface Page<T> {
  items: T[];
  page: number;
  pageSize: number;
  total: number;
}

export interface ClientInfo {
  ip?: string;
  userAgent?: string;
}

/** Routing keys of `auth.events` (docs/contracts.md). */
export type EventKey =
  | 'user.registered'
  | 'user.password_reset_requested'
  | 'user.login_new_device'
  | 'user.email_verification_requested'
  | 'user.email_verified'
  | 'user.email_change_requested'
  | 'user.email_changed'
  | 'user.updated'
  | 'user.deleted';

/**
 * Payload fields holding a secret (a single-use token, or a link carrying it): scrubbed from the
 * outbox as soon as the broker confirmed the event, never logged.
 */
export const SECRET_EVENT_FIELDS = [
  'reset_token',
  'reset_url',
  'verification_token',
  'verification_url',
  'confirm_token',
  'confirm_url',
] as const;

/** Profile fields a user sets (undefined: unchanged; null: cleared). */
export interface ProfileFields {
  firstName?: string | null;
  lastName?: string | null;
  locale?: string | null;
  timeZone?: string | null;
}

export interface UsersRepository {
  create(u: {
    email: string;
    passwordHash: string | null;
    firstName?: string | null;
    lastName?: string | null;
    roles: string[];
    emailVerified?: boolean;
  }): Promise<User>;
  byId(id: string): Promise<UserWithSecret | undefined>;
  byEmail(email: string): Promise<UserWithSecret | undefined>;
  update(id: string, fields: ProfileFields & { email?: string }): Promise<User | undefined>;
  /** Marks the account changed now (a change outside the users row, e.g. its roles). */
  touch(id: string): Promise<void>;
  /**
   * Deletes the account: personal data emptied, address freed, sign-in links and roles gone, the
   * row kept (marked deleted) for the sessions' revocation feed. False if already deleted.
   */
  erase(id: string): Promise<boolean>;
  /** Every user (not deleted) in creation order, a page at a time. */
  page(opts: { page: number; pageSize: number }): Promise<Page<User>>;
  setPassword(id: string, hash: string): Promise<void>;
  /** Marks the address verified if it is still `email` (it may have changed since). */
  markEmailVerified(id: string, email: string): Promise<boolean>;
  /** Sets a new, verified address (ConflictError when another account has it). */
  changeEmail(id: string, email: string): Promise<void>;
  bySocial(provider: string, subject: string): Promise<UserWithSecret | undefined>;
  linkSocial(provider: string, subject: string, userId: string, email: string): Promise<void>;
}

export interface RolesRepository {
  list(): Promise<Role[]>;
  byId(id: string): Promise<Role | undefined>;
  byName(name: string): Promise<Role | undefined>;
  create(name: string, description: string): Promise<Role>;
  update(id: string, fields: { name?: string; description?: string }): Promise<Role | undefined>;
  remove(id: string): Promise<boolean>;
  rolesOf(userId: string): Promise<string[]>;
  assign(userId: string, roleId: string): Promise<void>;
  revoke(userId: string, roleId: string): Promise<boolean>;
  /** Users who have the role. */
  holders(roleId: string): Promise<string[]>;
}

export interface SessionsRepository {
  create(s: {
    id: string;
    userId: string;
    deviceType: DeviceType;
    userAgent?: string;
    ip?: string;
    method: string;
    expiresAt: Date;
  }): Promise<void>;
  byId(id: string): Promise<Session | undefined>;
  isActive(id: string): Promise<boolean>;
  listActive(userId: string): Promise<Session[]>;
  touch(id: string): Promise<void>;
  revoke(id: string, reason: string): Promise<boolean>;
  revokeAll(userId: string, reason: string, exceptSessionId?: string): Promise<number>;
  addRefreshToken(hash: Buffer, sessionId: string, expiresAt: Date): Promise<void>;
  /** Locks the token row for the rest of the transaction. */
  refreshTokenForUpdate(hash: Buffer): Promise<RefreshTokenRow | undefined>;
  markRefreshTokenUsed(hash: Buffer): Promise<void>;
}

export interface ResetTokensRepository {
  create(hash: Buffer, userId: string, expiresAt: Date): Promise<void>;
  /** Marks a valid token used and answers its user, atomically; undefined if not usable. */
  consume(hash: Buffer): Promise<string | undefined>;
  /** Ends every outstanding token of the user (the address they were sent to changed). */
  revokeAll(userId: string): Promise<void>;
}

export type EmailTokenPurpose = 'verify' | 'email_change';

export interface EmailTokensRepository {
  /** Stores a new link; the user's older links of the same purpose stop working. */
  create(
    hash: Buffer,
    t: { userId: string; purpose: EmailTokenPurpose; email: string; expiresAt: Date },
  ): Promise<void>;
  /** Marks a valid token used and answers it, atomically; undefined if not usable. */
  consume(
    hash: Buffer,
    purpose: EmailTokenPurpose,
  ): Promise<{ userId: string; email: string } | undefined>;
  revokeAll(userId: string, purpose: EmailTokenPurpose): Promise<void>;
}

export interface LoginHistoryRepository {
  add(e: {
    userId: string;
    deviceType: DeviceType;
    success: boolean;
    method: string;
    userAgent?: string;
    ip?: string;
  }): Promise<void>;
  page(
    userId: string,
    opts: { page: number; pageSize: number; deviceType?: DeviceType },
  ): Promise<Page<LoginHistoryEntry>>;
}

export interface DevicesRepository {
  /** Records the device; answers true if it was not known before. */
  remember(userId: string, fingerprint: string): Promise<{ isNew: boolean; firstDevice: boolean }>;
}

export interface OutboxRepository {
  add(routingKey: EventKey, payload: Record<string, unknown>): Promise<string>;
}

export interface Repositories {
  users: UsersRepository;
  roles: RolesRepository;
  sessions: SessionsRepository;
  resets: ResetTokensRepository;
  emailTokens: EmailTokensRepository;
  history: LoginHistoryRepository;
  devices: DevicesRepository;
  outbox: OutboxRepository;
}

export interface Store extends Repositories {
  /** Runs `fn` in one database transaction; everything it writes commits or rolls back together. */
  transaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T>;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** Spends the same time as a verify, for unknown users (uniform timing). */
  verifyDummy(password: string): Promise<void>;
}

export interface AccessClaims {
  sub: string;
  sid: string;
  roles: string[];
  email: string;
  email_verified: boolean;
}

export interface AccessTokenSigner {
  sign(claims: AccessClaims): Promise<string>;
}

export type LimitedAction = 'login' | 'register' | 'reset' | 'email_change' | 'verify_email';

/** Rate limits and lockout; each method throws TooManyRequestsError when over the limit. */
export interface Limiter {
  hitIp(action: LimitedAction, ip: string): Promise<void>;
  hitAccount(action: LimitedAction, email: string): Promise<void>;
  /**
   * Reserves one password evaluation for `key` (an account's e-mail, or `<purpose>:<user id>`)
   * before it runs, atomically: once `LOGIN_MAX_FAILURES` are reserved without a success, every
   * further attempt is refused (429) for the lockout period, however many run in parallel.
   */
  reserveAttempt(key: string): Promise<void>;
  /** The password was right: the failures of `key` are forgotten. */
  attemptSucceeded(key: string): Promise<void>;
}

/** Mails auth sends itself until the notifications service takes them over (AUTH_MAIL). */
export type Mail =
  | { kind: 'verify_email'; to: string; link: string; expiresAt: Date }
  | { kind: 'email_change_confirm'; to: string; link: string; expiresAt: Date }
  | { kind: 'email_change_notice'; to: string; newEmail: string }
  | { kind: 'password_reset'; to: string; link: string; expiresAt: Date };

export interface Mailer {
  /** Sends in the background; never throws, never logs the message body (it holds secrets). */
  send(mail: Mail): void;
}

/** Builds the links mailed to users (the web app's pages post the token to the API). */
export interface Links {
  verifyEmail(token: string): string;
  confirmEmailChange(token: string): string;
  resetPassword(token: string): string;
}

/** Called after a commit that added events, so the publisher sends them without waiting. */
export type OutboxNotifier = () => void;
