import type { EmailTokenPurpose, EmailTokensRepository as Port } from '../domain/model';
import type { Queryable } from './db';

export class EmailTokensRepository implements Port {
  constructor(private readonly db: Queryable) {}

  async create(
    hash: Buffer,
    t: { userId: string; purpose: EmailTokenPurpose; email: string; expiresAt: Date },
  ): Promise<void> {
    await this.revokeAll(t.userId, t.purpose);
    await this.db.query(
      `INSERT INTO email_tokens (token_hash, user_id, purpose, email, expires_at)
       VALUES ($1, $2, $3, $4, $5)`,
      [hash, t.userId, t.purpose, t.email, t.expiresAt],
    );
  }

  async consume(
    hash: Buffer,
    purpose: EmailTokenPurpose,
  ): Promise<{ userId: string; email: string } | undefined> {
    const res = await this.db.query<{ user_id: string; email: string }>(
      `UPDATE email_tokens SET used_at = now()
       WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
       RETURNING user_id, email`,
      [hash, purpose],
    );
    const row = res.rows[0];
    return row && { userId: row.user_id, email: row.email };
  }

  async revokeAll(userId: string, purpose: EmailTokenPurpose): Promise<void> {
    await this.db.query(
      `UPDATE email_tokens SET used_at = now()
       WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL`,
      [userId, purpose],
    );
  }
}
