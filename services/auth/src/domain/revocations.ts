/**
 * The catch-up of the session revocation feed (docs/contracts.md, "Session revocations"): the
 * sessions ended since a moment whose access tokens may still be alive, for a verifier that was
 * disconnected from the feed (or has just started).
 */
import { ValidationError } from '@cinema/errors';

export interface RevokedSession {
  /** Session id (the `sid` claim of its access tokens). */
  sid: string;
  /** Seconds since the epoch after which no access token of the session is valid anyway. */
  exp: number;
}

/** The store's side (the sessions repository). */
export interface RevokedSessions {
  revokedSince(
    since: Date | undefined,
    accessTokenTtlSeconds: number,
  ): Promise<{ now: Date; revocations: RevokedSession[] }>;
}

export class Revocations {
  constructor(
    private readonly sessions: RevokedSessions,
    private readonly accessTokenTtlSeconds: number,
  ) {}

  /** Ended since `since` (ISO 8601), or within one access-token lifetime when omitted. */
  async since(since?: string): Promise<{ now: Date; revocations: RevokedSession[] }> {
    let from: Date | undefined;
    if (since !== undefined) {
      from = new Date(since);
      if (Number.isNaN(from.getTime())) {
        throw new ValidationError('since must be an ISO 8601 date-time');
      }
    }
    return this.sessions.revokedSince(from, this.accessTokenTtlSeconds);
  }
}
