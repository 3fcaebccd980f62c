/** Request and answer bodies of the API (tsoa reads the JSDoc constraints). */
import type { DeviceType } from '../domain/device';

/**
 * @pattern ^[^\s@]+@[^\s@]+\.[^\s@]+$ must be an e-mail address
 * @maxLength 254
 */
export type Email = string;

/**
 * @minLength 8
 * @maxLength 128
 */
export type Password = string;

/** @maxLength 100 */
export type Name = string;

/**
 * A BCP 47 language tag: `en`, `ru`, `en-GB` (notifications writes in `ru` or `en`).
 * @pattern ^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$ must be a language tag such as en, ru or en-GB
 */
export type Locale = string;

/**
 * An IANA time zone name: `Europe/Moscow`, `UTC` (checked against the runtime's zone data).
 * @minLength 1
 * @maxLength 64
 */
export type TimeZone = string;

export interface RegisterRequest {
  email: Email;
  password: Password;
  firstName?: Name;
  lastName?: Name;
}

export interface LoginRequest {
  email: Email;
  /**
   * @minLength 1
   * @maxLength 128
   */
  password: string;
}

export interface RefreshRequest {
  /**
   * @minLength 20
   * @maxLength 200
   */
  refreshToken: string;
}

/** The login answer (docs/contracts.md). */
export interface TokenPairResponse {
  /** RS256-signed JWT: iss, aud, sub, sid, roles, typ "access", iat, exp, email. */
  accessToken: string;
  /** Opaque; rotates on every refresh. */
  refreshToken: string;
  tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  expiresIn: number;
}

export interface UserProfile {
  id: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  /** The address was confirmed by a link sent to it (or by the OpenID provider). */
  emailVerified: boolean;
  roles: string[];
  /** BCP 47 language tag, null when not set. */
  locale: string | null;
  /** IANA time zone, null when not set. */
  timeZone: string | null;
  createdAt: Date;
}

/** Names, language, time zone (null clears one); the e-mail address changes through `POST /me/email`. */
export interface UpdateProfileRequest {
  firstName?: Name | null;
  lastName?: Name | null;
  locale?: Locale | null;
  timeZone?: TimeZone | null;
}

export interface EmailChangeRequest {
  newEmail: Email;
  /**
   * Required when the account has a password. An account without one (Google login) must have
   * logged in a few minutes ago instead (REAUTH_MAX_AGE_SECONDS).
   * @minLength 1
   * @maxLength 128
   */
  currentPassword?: string;
}

/** A single-use token from a mailed link (the part after `#token=`). */
export interface EmailTokenRequest {
  /**
   * @minLength 20
   * @maxLength 200
   */
  token: string;
}

export interface DeleteAccountRequest {
  /**
   * Required when the account has a password. An account without one (Google login) must have
   * logged in a few minutes ago instead (REAUTH_MAX_AGE_SECONDS).
   * @minLength 1
   * @maxLength 128
   */
  currentPassword?: string;
}

export interface ChangePasswordRequest {
  /**
   * @minLength 1
   * @maxLength 128
   */
  currentPassword: string;
  newPassword: Password;
}

export interface PasswordResetRequest {
  email: Email;
}

export interface PasswordResetConfirm {
  /**
   * @minLength 20
   * @maxLength 200
   */
  token: string;
  newPassword: Password;
}

export interface SessionView {
  id: string;
  deviceType: DeviceType;
  userAgent: string | null;
  ip: string | null;
  /** password or the OAuth provider. */
  method: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  /** The session of the token making this call. */
  current: boolean;
}

export interface LoginHistoryItem {
  id: string;
  deviceType: DeviceType;
  success: boolean;
  method: string;
  userAgent: string | null;
  ip: string | null;
  createdAt: Date;
}

export interface LoginHistoryPage {
  items: LoginHistoryItem[];
  page: number;
  pageSize: number;
  total: number;
}

export interface RoleView {
  id: string;
  name: string;
  description: string;
  /** public_user, admin and super_user: cannot be renamed or deleted. */
  system: boolean;
  createdAt: Date;
}

/**
 * @pattern ^[a-z][a-z0-9_]{1,49}$ lower-case letters, digits and underscores
 */
export type RoleName = string;

export interface CreateRoleRequest {
  name: RoleName;
  /** @maxLength 500 */
  description?: string;
}

export interface UpdateRoleRequest {
  name?: RoleName;
  /** @maxLength 500 */
  description?: string;
}

export interface AssignRoleRequest {
  role: RoleName;
}

/** An account as the admin list shows it (docs/contracts.md: notifications' back-fill reads it). */
export interface UserListItem {
  id: string;
  email: string;
  emailVerified: boolean;
  firstName: string | null;
  lastName: string | null;
  locale: string | null;
  timeZone: string | null;
  roles: string[];
  /** false: the account is disabled (cannot log in). */
  isActive: boolean;
  createdAt: Date;
  /** Last change of the account; orders it against `user.updated` events. */
  updatedAt: Date;
}

export interface UserListPage {
  items: UserListItem[];
  page: number;
  pageSize: number;
  total: number;
}

export interface UserRoles {
  userId: string;
  roles: string[];
}

export interface JsonWebKey {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  n?: string;
  e?: string;
  crv?: string;
  x?: string;
  y?: string;
}

export interface JsonWebKeySet {
  keys: JsonWebKey[];
}
