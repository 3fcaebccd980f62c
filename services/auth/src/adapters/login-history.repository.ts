import type { DeviceType } from '../domain/device';
import type { LoginHistoryEntry, LoginHistoryRepository as Port, Page } from '../domain/model';
import type { Queryable } from './db';

/**
 * The page query. `device_type` is the partition key: with a device filter, PostgreSQL prunes
 * every other partition (a test checks the plan with EXPLAIN).
 */
export function historyQuery(
  userId: string,
  opts: { page: number; pageSize: number; deviceType?: DeviceType },
): { text: string; values: unknown[] } {
  const values: unknown[] = [userId, opts.pageSize, (opts.page - 1) * opts.pageSize];
  let where = 'user_id = $1';
  if (opts.deviceType) {
    values.push(opts.deviceType);
    where += ` AND device_type = $${values.length}`;
  }
  return {
    text: `SELECT id, device_type, success, method, user_agent, ip, created_at,
                  count(*) OVER () AS total
           FROM login_history WHERE ${where}
           ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
    values,
  };
}

export class LoginHistoryRepository implements Port {
  constructor(private readonly db: Queryable) {}

  async add(e: Parameters<Port['add']>[0]): Promise<void> {
    await this.db.query(
      `INSERT INTO login_history (user_id, device_type, success, method, user_agent, ip)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [e.userId, e.deviceType, e.success, e.method, e.userAgent ?? null, e.ip ?? null],
    );
  }

  async page(
    userId: string,
    opts: { page: number; pageSize: number; deviceType?: DeviceType },
  ): Promise<Page<LoginHistoryEntry>> {
    const q = historyQuery(userId, opts);
    const res = await this.db.query<{
      id: string;
      device_type: DeviceType;
      success: boolean;
      method: string;
      user_agent: string | null;
      ip: string | null;
      created_at: Date;
      total: string;
    }>(q.text, q.values);
    let total = res.rows[0] ? Number(res.rows[0].total) : 0;
    if (!res.rows.length && opts.page > 1) {
      // Past the last page: the window count is not available, ask for it.
      const c = await this.db.query<{ n: string }>(
        `SELECT count(*) AS n FROM login_history WHERE user_id = $1 ${opts.deviceType ? 'AND device_type = $2' : ''}`,
        opts.deviceType ? [userId, opts.deviceType] : [userId],
      );
      total = Number(c.rows[0]!.n);
    }
    return {
      items: res.rows.map((r) => ({
        id: r.id,
        deviceType: r.device_type,
        success: r.success,
        method: r.method,
        userAgent: r.user_agent,
        ip: r.ip,
        createdAt: r.created_at,
      })),
      page: opts.page,
      pageSize: opts.pageSize,
      total,
    };
  }
}
