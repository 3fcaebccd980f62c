import type { Role, RolesRepository as Port } from '../domain/model';
import { mapPgError, type Queryable } from './db';

interface Row {
  id: string;
  name: string;
  description: string;
  system: boolean;
  created_at: Date;
}
const toRole = (r: Row): Role => ({
  id: r.id,
  name: r.name,
  description: r.description,
  system: r.system,
  createdAt: r.created_at,
});
const COLS = 'id, name, description, system, created_at';

export class RolesRepository implements Port {
  constructor(private readonly db: Queryable) {}

  async list(): Promise<Role[]> {
    const res = await this.db.query<Row>(`SELECT ${COLS} FROM roles ORDER BY name`);
    return res.rows.map(toRole);
  }

  async byId(id: string): Promise<Role | undefined> {
    const res = await this.db.query<Row>(`SELECT ${COLS} FROM roles WHERE id = $1`, [id]);
    return res.rows[0] && toRole(res.rows[0]);
  }

  async byName(name: string): Promise<Role | undefined> {
    const res = await this.db.query<Row>(`SELECT ${COLS} FROM roles WHERE name = $1`, [name]);
    return res.rows[0] && toRole(res.rows[0]);
  }

  async create(name: string, description: string): Promise<Role> {
    try {
      const res = await this.db.query<Row>(
        `INSERT INTO roles (name, description) VALUES ($1, $2) RETURNING ${COLS}`,
        [name, description],
      );
      return toRole(res.rows[0]!);
    } catch (err) {
      mapPgError(err);
    }
  }

  async update(id: string, f: { name?: string; description?: string }) {
    try {
      const res = await this.db.query<Row>(
        `UPDATE roles SET name = COALESCE($2, name), description = COALESCE($3, description)
         WHERE id = $1 RETURNING ${COLS}`,
        [id, f.name ?? null, f.description ?? null],
      );
      return res.rows[0] && toRole(res.rows[0]);
    } catch (err) {
      mapPgError(err);
    }
  }

  async remove(id: string): Promise<boolean> {
    const res = await this.db.query(`DELETE FROM roles WHERE id = $1 AND NOT system`, [id]);
    return (res.rowCount ?? 0) > 0;
  }

  async rolesOf(userId: string): Promise<string[]> {
    const res = await this.db.query<{ name: string }>(
      `SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id
       WHERE ur.user_id = $1 ORDER BY r.name`,
      [userId],
    );
    return res.rows.map((r) => r.name);
  }

  async assign(userId: string, roleId: string): Promise<void> {
    await this.db.query(
      `INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [userId, roleId],
    );
  }

  async holders(roleId: string): Promise<string[]> {
    const res = await this.db.query<{ user_id: string }>(
      `SELECT user_id FROM user_roles WHERE role_id = $1`,
      [roleId],
    );
    return res.rows.map((r) => r.user_id);
  }

  async revoke(userId: string, roleId: string): Promise<boolean> {
    const res = await this.db.query(`DELETE FROM user_roles WHERE user_id = $1 AND role_id = $2`, [
      userId,
      roleId,
    ]);
    return (res.rowCount ?? 0) > 0;
  }
}
