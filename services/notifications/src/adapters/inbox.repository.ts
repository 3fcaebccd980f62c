/** The in-app inbox in PostgreSQL; every query is scoped by the owner's id. */
import type { Category, InboxItem, InboxRepository, NewInboxItem } from '../domain/model';
import type { Queryable } from './db';

interface Row {
  id: string;
  category: string;
  title: string;
  body: string;
  link: string | null;
  data: Record<string, unknown>;
  created_at: Date;
  read_at: Date | null;
}

const COLUMNS = 'id::text, category, title, body, link, data, created_at, read_at';

export const toItem = (r: Row): InboxItem => ({
  id: r.id,
  category: r.category as Category,
  title: r.title,
  body: r.body,
  link: r.link,
  data: r.data,
  createdAt: r.created_at,
  readAt: r.read_at,
});

export class PgInboxRepository implements InboxRepository {
  constructor(private readonly db: Queryable) {}

  /** Adds an item once per (user, message id); answers whether it was new. */
  async add(item: NewInboxItem, db: Queryable = this.db): Promise<boolean> {
    const res = await db.query(
      `INSERT INTO inbox (user_id, message_id, category, title, body, link, data)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (user_id, message_id) DO NOTHING`,
      [
        item.userId,
        item.messageId,
        item.category,
        item.title,
        item.body,
        item.link ?? null,
        item.data ?? {},
      ],
    );
    return res.rowCount === 1;
  }

  async byId(userId: string, id: string): Promise<InboxItem | undefined> {
    const res = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM inbox WHERE user_id = $1 AND id = $2`,
      [userId, id],
    );
    return res.rows[0] && toItem(res.rows[0]);
  }

  async list(
    userId: string,
    options: { limit: number; before?: string; unreadOnly?: boolean },
  ): Promise<InboxItem[]> {
    const res = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM inbox
       WHERE user_id = $1 AND ($2::bigint IS NULL OR id < $2) AND (NOT $3 OR read_at IS NULL)
       ORDER BY id DESC LIMIT $4`,
      [userId, options.before ?? null, options.unreadOnly ?? false, options.limit],
    );
    return res.rows.map(toItem);
  }

  async since(userId: string, afterId: string, limit: number): Promise<InboxItem[]> {
    const res = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM inbox WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
      [userId, afterId, limit],
    );
    return res.rows.map(toItem);
  }

  async unreadCount(userId: string): Promise<number> {
    const res = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM inbox WHERE user_id = $1 AND read_at IS NULL`,
      [userId],
    );
    return res.rows[0]!.n;
  }

  async markRead(userId: string, id: string): Promise<boolean> {
    const res = await this.db.query(
      `UPDATE inbox SET read_at = COALESCE(read_at, now()) WHERE user_id = $1 AND id = $2`,
      [userId, id],
    );
    return res.rowCount === 1;
  }

  async markAllRead(userId: string): Promise<number> {
    const res = await this.db.query(
      `UPDATE inbox SET read_at = now() WHERE user_id = $1 AND read_at IS NULL`,
      [userId],
    );
    return res.rowCount ?? 0;
  }
}
