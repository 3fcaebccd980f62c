import { currentTraceparent } from '@cinema/outbox';
import type { DeviceType } from '../domain/device';
import type { RefreshTokenRow, Session, SessionsRepository as Port } from '../domain/model';
import type { Queryable } from './db';

interface Row {
  id: string;
  user_id: string;
  device_type: DeviceType;
  user_agent: string | null;
  ip: string | null;
  method: string;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}
const toSession = (r: Row): Session => ({
  id: r.id,
  userId: r.user_id,
  deviceType: r.device_type,
  userAgent: r.user_agent,
  ip: r.ip,
  method: r.method,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
});
const COLS = `s.id, s.user_id, s.device_type, s.user_agent, s.ip, s.method, s.created_at,
  s.last_used_at, s.expires_at, s.revoked_at`;

/**
 * What ending a session publishes: a `session.revoked` event in the outbox, written by the same
 * statement that ends the sessions (so it commits or rolls back with them), with the moment the
 * last access token of these sessions expires; `revoked` then wakes the outbox publisher
 * (after the transaction's commit). docs/contracts.md, "Session revocations".
 */
export interface RevocationPublishing {
  accessTokenTtlSeconds: number;
  revoked: () => void;
}

/** Ends the sessions `ended` selects and adds one outbox event naming them (none if no row). */
const revokeAndPublish = (ended: string, ttlParam: string, traceParam: string) => `
  WITH ended AS (${ended} RETURNING id, user_id, revoked_at, revoked_reason),
  event AS (
    INSERT INTO outbox (routing_key, payload, traceparent)
    SELECT 'session.revoked', jsonb_build_object(
             'session_ids', jsonb_agg(id),
             'exp', floor(extract(epoch FROM max(revoked_at))) + ${ttlParam}::int,
             'revoked_at', max(revoked_at),
             'reason', min(revoked_reason)),
           ${traceParam}::text
    FROM ended HAVING count(*) > 0
    RETURNING id)
  SELECT (SELECT count(*) FROM ended)::int AS n`;

export class SessionsRepository implements Port {
  constructor(
    private readonly db: Queryable,
    private readonly publishing?: RevocationPublishing,
  ) {}

  async create(s: Parameters<Port['create']>[0]): Promise<void> {
    await this.db.query(
      `INSERT INTO sessions (id, user_id, device_type, user_agent, ip, method, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [s.id, s.userId, s.deviceType, s.userAgent ?? null, s.ip ?? null, s.method, s.expiresAt],
    );
  }

  async byId(id: string): Promise<Session | undefined> {
    const res = await this.db.query<Row>(`SELECT ${COLS} FROM sessions s WHERE s.id = $1`, [id]);
    return res.rows[0] && toSession(res.rows[0]);
  }

  async isActive(id: string): Promise<boolean> {
    const res = await this.db.query(
      `SELECT 1 FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()`,
      [id],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async listActive(userId: string): Promise<Session[]> {
    const res = await this.db.query<Row>(
      `SELECT ${COLS} FROM sessions s
       WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > now()
       ORDER BY s.last_used_at DESC`,
      [userId],
    );
    return res.rows.map(toSession);
  }

  async touch(id: string): Promise<void> {
    await this.db.query(`UPDATE sessions SET last_used_at = now() WHERE id = $1`, [id]);
  }

  async revoke(id: string, reason: string): Promise<boolean> {
    return (
      (await this.end(
        `UPDATE sessions SET revoked_at = now(), revoked_reason = $2
         WHERE id = $1 AND revoked_at IS NULL`,
        [id, reason],
      )) > 0
    );
  }

  async revokeAll(userId: string, reason: string, exceptSessionId?: string): Promise<number> {
    return this.end(
      `UPDATE sessions SET revoked_at = now(), revoked_reason = $2
       WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3::uuid)`,
      [userId, reason, exceptSessionId ?? null],
    );
  }

  /** Runs an UPDATE ending sessions; with publishing, in one statement with the outbox event. */
  private async end(update: string, params: unknown[]): Promise<number> {
    if (!this.publishing) {
      const res = await this.db.query(update, params);
      return res.rowCount ?? 0;
    }
    const sql = revokeAndPublish(update, `$${params.length + 1}`, `$${params.length + 2}`);
    const res = await this.db.query<{ n: number }>(sql, [
      ...params,
      this.publishing.accessTokenTtlSeconds,
      currentTraceparent(),
    ]);
    const n = res.rows[0]?.n ?? 0;
    if (n > 0) this.publishing.revoked();
    return n;
  }

  /**
   * Sessions ended since `since` whose access tokens may still be alive (ended within the last
   * `accessTokenTtlSeconds`): the catch-up of a verifier that lost the revocation feed.
   */
  async revokedSince(
    since: Date | undefined,
    accessTokenTtlSeconds: number,
  ): Promise<{ now: Date; revocations: { sid: string; exp: number }[] }> {
    const res = await this.db.query<{ now: Date; id: string | null; exp: string | null }>(
      `SELECT now() AS now, s.id, floor(extract(epoch FROM s.revoked_at))::bigint + $2::int AS exp
       FROM (SELECT now()) n
       LEFT JOIN sessions s
         ON s.revoked_at IS NOT NULL
        AND s.revoked_at > greatest(coalesce($1::timestamptz, '-infinity'),
                                    now() - $2::int * interval '1 second')
       ORDER BY s.revoked_at`,
      [since ?? null, accessTokenTtlSeconds],
    );
    return {
      now: res.rows[0]?.now ?? new Date(),
      revocations: res.rows
        .filter((r) => r.id !== null)
        .map((r) => ({ sid: r.id!, exp: Number(r.exp) })),
    };
  }

  async addRefreshToken(hash: Buffer, sessionId: string, expiresAt: Date): Promise<void> {
    await this.db.query(
      `INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)`,
      [hash, sessionId, expiresAt],
    );
  }

  async refreshTokenForUpdate(hash: Buffer): Promise<RefreshTokenRow | undefined> {
    const res = await this.db.query<
      Row & { t_expires_at: Date; t_used_at: Date | null; session_id: string }
    >(
      `SELECT t.session_id, t.expires_at AS t_expires_at, t.used_at AS t_used_at, ${COLS}
       FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
       WHERE t.token_hash = $1
       FOR UPDATE OF t, s`,
      [hash],
    );
    const r = res.rows[0];
    if (!r) return undefined;
    return {
      sessionId: r.session_id,
      expiresAt: r.t_expires_at,
      usedAt: r.t_used_at,
      session: toSession(r),
    };
  }

  async markRefreshTokenUsed(hash: Buffer): Promise<void> {
    await this.db.query(`UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1`, [hash]);
  }
}
