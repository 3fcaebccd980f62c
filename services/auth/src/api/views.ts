import type { LoginHistoryEntry, Page, Role, Session, User } from '../domain/model';
import type { LoginHistoryPage, RoleView, SessionView, UserProfile } from './types';

export const toProfile = (u: User): UserProfile => ({
  id: u.id,
  email: u.email,
  firstName: u.firstName,
  lastName: u.lastName,
  emailVerified: u.emailVerified,
  roles: u.roles,
  createdAt: u.createdAt,
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
