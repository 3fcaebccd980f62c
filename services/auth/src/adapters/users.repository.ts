import type {
  Page,
  ProfileFields,
  User,
  UserWithSecret,
  UsersRepository as Port,
} from '../domain/model';
import { mapPgError, type Queryable } from './db';

interface Row {
  id: string;
  email: string;
  password_hash: string | null;
  first_name: string | null;
  last_name: string | null;
  is_active: boolean;
  email_verified: boolean;
  locale: string | null;
  time_zone: string | null;
  created_at: Date;
  updated_at: Date;
  roles: string[] | null;
}

const SELECT = `
  SELECT u.id, u.email, u.password_hash, u.first_name, u.last_name, u.is_active,
         u.email_verified, u.locale, u.time_zone, u.created_at, u.updated_at,
         (SELECT array_agg(r.name ORDER BY r.name) FROM user_roles ur JOIN roles r ON r.id = ur.role_id
           WHERE ur.user_id = u.id) AS roles
  FROM users u`;

const toUser = (r: Row): UserWithSecret => ({
  id: r.id,
  email: r.email,
  passwordHash: r.password_hash,
  firstName: r.first_name,
  lastName: r.last_name,
  isActive: r.is_active,
  emailVerified: r.email_verified,
  locale: r.locale,
  timeZone: r.time_zone,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  roles: r.roles ?? [],
});

export class UsersRepository implements Port {
  constructor(private readonly db: Queryable) {}

  async create(u: Parameters<Port['create']>[0]): Promise<User> {
    let id: string;
    try {
      const res = await this.db.query<{ id: string }>(
        `INSERT INTO users (email, password_hash, first_name, last_name, email_verified)
         VALUES ($1, $2, $3, $4, $5) RETURNING id`,
        [
          u.email,
          u.passwordHash,
          u.firstName ?? null,
          u.lastName ?? null,
          u.emailVerified ?? false,
        ],
      );
      id = res.rows[0]!.id;
    } catch (err) {
      mapPgError(err);
    }
    await this.db.query(
      `INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM roles WHERE name = ANY($2)`,
      [id, u.roles],
    );
    const { passwordHash: _omit, ...user } = (await this.byId(id))!;
    return user;
  }

  async byId(id: string): Promise<UserWithSecret | undefined> {
    const res = await this.db.query<Row>(`${SELECT} WHERE u.id = $1`, [id]);
    return res.rows[0] && toUser(res.rows[0]);
  }

  async byEmail(email: string): Promise<UserWithSecret | undefined> {
    const res = await this.db.query<Row>(`${SELECT} WHERE lower(u.email) = lower($1)`, [email]);
    return res.rows[0] && toUser(res.rows[0]);
  }

  async update(id: string, fields: ProfileFields & { email?: string }): Promise<User | undefined> {
    const set = (v: unknown) => v !== undefined;
    try {
      const res = await this.db.query(
        `UPDATE users SET
           email = COALESCE($2, email),
           first_name = CASE WHEN $3::boolean THEN $4 ELSE first_name END,
           last_name = CASE WHEN $5::boolean THEN $6 ELSE last_name END,
           locale = CASE WHEN $7::boolean THEN $8 ELSE locale END,
           time_zone = CASE WHEN $9::boolean THEN $10 ELSE time_zone END,
           updated_at = now()
         WHERE id = $1`,
        [
          id,
          fields.email ?? null,
          set(fields.firstName),
          fields.firstName ?? null,
          set(fields.lastName),
          fields.lastName ?? null,
          set(fields.locale),
          fields.locale ?? null,
          set(fields.timeZone),
          fields.timeZone ?? null,
        ],
      );
      if (!res.rowCount) return undefined;
    } catch (err) {
      mapPgError(err);
    }
    const { passwordHash: _omit, ...user } = (await this.byId(id))!;
    return user;
  }

  async touch(id: string): Promise<void> {
    await this.db.query(`UPDATE users SET updated_at = now() WHERE id = $1`, [id]);
  }

  async erase(id: string): Promise<boolean> {
    const res = await this.db.query(
      `UPDATE users SET email = 'deleted+' || id || '@invalid', password_hash = NULL,
         first_name = NULL, last_name = NULL, locale = NULL, time_zone = NULL,
         email_verified = false, is_active = false, deleted_at = now(), updated_at = now()
       WHERE id = $1 AND deleted_at IS NULL`,
      [id],
    );
    if (!res.rowCount) return false;
    await this.db.query(`DELETE FROM social_accounts WHERE user_id = $1`, [id]);
    await this.db.query(`DELETE FROM user_roles WHERE user_id = $1`, [id]);
    return true;
  }

  async page(opts: { page: number; pageSize: number }): Promise<Page<User>> {
    const [rows, count] = await Promise.all([
      this.db.query<Row>(
        `${SELECT} WHERE u.deleted_at IS NULL ORDER BY u.created_at, u.id LIMIT $1 OFFSET $2`,
        [opts.pageSize, (opts.page - 1) * opts.pageSize],
      ),
      this.db.query<{ n: string }>(`SELECT count(*) AS n FROM users WHERE deleted_at IS NULL`),
    ]);
    return {
      items: rows.rows.map((r) => {
        const { passwordHash: _omit, ...user } = toUser(r);
        return user;
      }),
      page: opts.page,
      pageSize: opts.pageSize,
      total: Number(count.rows[0]!.n),
    };
  }

  async setPassword(id: string, hash: string): Promise<void> {
    await this.db.query(`UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1`, [
      id,
      hash,
    ]);
  }

  async markEmailVerified(id: string, email: string): Promise<boolean> {
    const res = await this.db.query(
      `UPDATE users SET email_verified = true, updated_at = now()
       WHERE id = $1 AND lower(email) = lower($2)`,
      [id, email],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async changeEmail(id: string, email: string): Promise<void> {
    try {
      await this.db.query(
        `UPDATE users SET email = $2, email_verified = true, updated_at = now() WHERE id = $1`,
        [id, email],
      );
    } catch (err) {
      mapPgError(err);
    }
  }

  async bySocial(provider: string, subject: string): Promise<UserWithSecret | undefined> {
    const res = await this.db.query<Row>(
      `${SELECT} JOIN social_accounts s ON s.user_id = u.id
       WHERE s.provider = $1 AND s.subject = $2`,
      [provider, subject],
    );
    return res.rows[0] && toUser(res.rows[0]);
  }

  async linkSocial(provider: string, subject: string, userId: string, email: string) {
    await this.db.query(
      `INSERT INTO social_accounts (provider, subject, user_id, email) VALUES ($1, $2, $3, $4)
       ON CONFLICT (provider, subject) DO NOTHING`,
      [provider, subject, userId, email],
    );
  }
}
