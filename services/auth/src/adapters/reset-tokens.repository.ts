import type { ResetTokensRepository as Port } from '../domain/model';
import type { Queryable } from './db';

export class ResetTokensRepository implements Port {
  constructor(private readonly db: Queryable) {}

  async create(hash: Buffer, userId: string, expiresAt: Date): Promise<void> {
    await this.db.query(
      `INSERT INTO password_reset_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)`,
      [hash, userId, expiresAt],
    );
  }

  async consume(hash: Buffer): Promise<string | undefined> {
    const res = await this.db.query<{ user_id: string }>(
      `UPDATE password_reset_tokens SET used_at = now()
       WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
       RETURNING user_id`,
      [hash],
    );
    if (!res.rows[0]) return undefined;
    // One reset ends every other outstanding token of the account.
    await this.db.query(
      `UPDATE password_reset_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL`,
      [res.rows[0].user_id],
    );
    return res.rows[0].user_id;
  }

  async revokeAll(userId: string): Promise<void> {
    await this.db.query(
      `UPDATE password_reset_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL`,
      [userId],
    );
  }
}
