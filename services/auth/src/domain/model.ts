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
  roles: string[];
  createdAt: Date;
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
  'user.registered' | 'user.password_reset_requested' | 'user.login_new_device';

export interface UsersRepository {
  create(u: {
    email: string;
    passwordHash: string | null;
    firstName?: string | null;
    lastName?: string | null;
    roles: string[];
  }): Promise<User>;
  byId(id: string): Promise<UserWithSecret | undefined>;
  byEmail(email: string): Promise<UserWithSecret | undefined>;
  update(
    id: string,
    fields: { email?: string; firstName?: string | null; lastName?: string | null },
  ): Promise<User | undefined>;
  setPassword(id: string, hash: string): Promise<void>;
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
}

export interface AccessTokenSigner {
  sign(claims: AccessClaims): Promise<string>;
}

export type LimitedAction = 'login' | 'register' | 'reset';

/** Rate limits and lockout; each method throws TooManyRequestsError when over the limit. */
export interface Limiter {
  hitIp(action: LimitedAction, ip: string): Promise<void>;
  hitAccount(action: LimitedAction, email: string): Promise<void>;
  /** Throws while the account is locked out after repeated failures. */
  checkLockout(email: string): Promise<void>;
  loginFailed(email: string): Promise<void>;
  loginSucceeded(email: string): Promise<void>;
}

/** Called after a commit that added events, so the publisher sends them without waiting. */
export type OutboxNotifier = () => void;
