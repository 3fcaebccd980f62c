import type { LoginHistoryEntry, Page, Role, Session, User } from '../domain/model';
import type { LoginHistoryPage, RoleView, SessionView, UserListItem, UserProfile } from './types';

export const toProfile = (u: User): UserProfile => ({
  id: u.id,
  email: u.email,
  firstName: u.firstName,
  lastName: u.lastName,
  emailVerified: u.emailVerified,
  roles: u.roles,
  locale: u.locale,
  timeZone: u.timeZone,
  createdAt: u.createdAt,
});

export const toUserListItem = (u: User): UserListItem => ({
  id: u.id,
  email: u.email,
  emailVerified: u.emailVerified,
  firstName: u.firstName,
  lastName: u.lastName,
  locale: u.locale,
  timeZone: u.timeZone,
  roles: u.roles,
  isActive: u.isActive,
  createdAt: u.createdAt,
  updatedAt: u.updatedAt,
});

export const toSessionView = (s: Session, currentId?: string): SessionView => ({
  id: s.id,
  deviceType: s.deviceType,
  userAgent: s.userAgent,
  ip: s.ip,
  method: s.method,
  createdAt: s.createdAt,
  lastUsedAt: s.lastUsedAt,
  expiresAt: s.expiresAt,
  current: s.id === currentId,
});

export const toHistoryPage = (p: Page<LoginHistoryEntry>): LoginHistoryPage => p;

export const toRoleView = (r: Role): RoleView => ({ ...r });
