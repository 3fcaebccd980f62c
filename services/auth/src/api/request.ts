/** What the controllers read from a request: the caller's address and agent, the principal. */
import type { Request } from 'express';
import type { Principal } from '@cinema/auth';
import type { ClientInfo } from '../domain/model';

export function clientOf(req: Request): ClientInfo {
  return { ip: req.ip, userAgent: req.get('user-agent')?.slice(0, 512) };
}

/** Who calls an admin use case (the use case reads their current roles). */
export function actorOf(req: Request): { id: string } {
  return { id: principalOf(req).id };
}

/** The principal `@Security('jwt')` put on the request. */
export function principalOf(req: Request): Principal {
  return (req as Request & { user: Principal }).user;
}
