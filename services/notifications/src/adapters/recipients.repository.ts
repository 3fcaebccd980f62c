/** The recipients projection in PostgreSQL. */
import type { Locale, Recipient, RecipientChange, RecipientsRepository } from '../domain/model';
import type { Queryable } from './db';

interface Row {
  user_id: string;
  email: string | null;
  email_verified: boolean;
  locale: string;
  time_zone: string;
  phone: string | null;
  phone_verified: boolean;
  first_name: string | null;
  roles: string[];
  quiet_start: string | null;
  quiet_end: string | null;
  deleted_at: Date | null;
}

const hhmm = (t: string) => t.slice(0, 5);

const toRecipient = (r: Row): Recipient => ({
  userId: r.user_id,
  email: r.email,
  emailVerified: r.email_verified,
  locale: (r.locale === 'ru' ? 'ru' : 'en') as Locale,
  timeZone: r.time_zone,
  phone: r.phone,
  phoneVerified: r.phone_verified,
  firstName: r.first_name,
  roles: r.roles,
  quietHours:
    r.quiet_start && r.quiet_end ? { start: hhmm(r.quiet_start), end: hhmm(r.quiet_end) } : null,
  deletedAt: r.deleted_at,
});

/** Columns a change may set, by field. */
const COLUMNS: Array<[keyof RecipientChange, string]> = [
  ['email', 'email'],
  ['emailVerified', 'email_verified'],
  ['locale', 'locale'],
  ['timeZone', 'time_zone'],
  ['phone', 'phone'],
  ['phoneVerified', 'phone_verified'],
  ['firstName', 'first_name'],
  ['roles', 'roles'],
];

export class PgRecipientsRepository implements RecipientsRepository {
  constructor(private readonly db: Queryable) {}

  async get(userId: string): Promise<Recipient | undefined> {
    const res = await this.db.query<Row>(`SELECT * FROM recipients WHERE user_id = $1`, [userId]);
    return res.rows[0] && toRecipient(res.rows[0]);
  }

  async apply(change: RecipientChange, eventAt: Date): Promise<boolean> {
    const names: string[] = [];
    const values: unknown[] = [change.userId, eventAt];
    for (const [field, column] of COLUMNS) {
      if (change[field] === undefined) continue;
      values.push(change[field]);
      names.push(column);
    }
    if (change.quietHours !== undefined) {
      names.push('quiet_start', 'quiet_end');
      values.push(change.quietHours?.start ?? null, change.quietHours?.end ?? null);
    }
    const insertCols = ['user_id', 'event_at', ...names];
    const placeholders = insertCols.map((_, i) => `$${i + 1}`);
    const updates = [
      'event_at = GREATEST(recipients.event_at, EXCLUDED.event_at)',
      'updated_at = now()',
    ]
      .concat(names.map((c) => `${c} = EXCLUDED.${c}`))
      .join(', ');
    // An event older than the newest applied changes nothing (redelivery after a later change).
    const res = await this.db.query(
      `INSERT INTO recipients (${insertCols.join(', ')}) VALUES (${placeholders.join(', ')})
       ON CONFLICT (user_id) DO UPDATE SET ${updates}
       WHERE recipients.event_at <= EXCLUDED.event_at AND recipients.deleted_at IS NULL`,
      values,
    );
    return res.rowCount === 1;
  }

  /** Settings the user makes here (locale, time zone, quiet hours): not ordered by events. */
  async setOwn(change: RecipientChange): Promise<void> {
    const names: string[] = [];
    const values: unknown[] = [change.userId];
    const add = (column: string, value: unknown) => {
      values.push(value);
      names.push(column);
    };
    if (change.locale !== undefined) add('locale', change.locale);
    if (change.timeZone !== undefined) add('time_zone', change.timeZone);
    if (change.quietHours !== undefined) {
      add('quiet_start', change.quietHours?.start ?? null);
      add('quiet_end', change.quietHours?.end ?? null);
    }
    const cols = ['user_id', ...names];
    const updates = ['updated_at = now()', ...names.map((c) => `${c} = EXCLUDED.${c}`)].join(', ');
    await this.db.query(
      `INSERT INTO recipients (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})
       ON CONFLICT (user_id) DO UPDATE SET ${updates}`,
      values,
    );
  }

  /** One statement (data-modifying CTEs): the user is gone with their data at once, or not. */
  async erase(userId: string, eventAt: Date): Promise<void> {
    await this.db.query(
      `WITH recipient AS (
         INSERT INTO recipients (user_id, event_at, deleted_at) VALUES ($1, $2, now())
         ON CONFLICT (user_id) DO UPDATE SET email = NULL, phone = NULL, first_name = NULL,
           phone_verified = false, email_verified = false, roles = '{}',
           deleted_at = COALESCE(recipients.deleted_at, now()), updated_at = now(),
           event_at = GREATEST(recipients.event_at, EXCLUDED.event_at)
         RETURNING 1
       ), prefs AS (
         DELETE FROM preferences WHERE user_id = $1 RETURNING 1
       ), items AS (
         DELETE FROM inbox WHERE user_id = $1 RETURNING 1
       ), sends AS (
         UPDATE deliveries SET
           status = CASE WHEN status IN ('queued', 'sending') THEN 'skipped' ELSE status END,
           reason = CASE WHEN status IN ('queued', 'sending') THEN 'recipient deleted' ELSE reason END,
           address = NULL, vars = '{}'
         WHERE recipient = $1 RETURNING 1
       )
       SELECT (SELECT count(*) FROM recipient) AS recipients`,
      [userId, eventAt],
    );
  }
}
