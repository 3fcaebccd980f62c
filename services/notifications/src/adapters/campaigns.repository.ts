/** Campaigns, their resolved audiences and their deliveries' progress, in PostgreSQL. */
import { ValidationError } from '@cinema/errors';
import type { Pool, PoolClient } from '@cinema/pg';
import type {
  Audience,
  BatchPlan,
  Campaign,
  CampaignDelivery,
  CampaignProgress,
  CampaignsRepository,
  CampaignState,
  NewCampaign,
} from '../domain/campaigns.model';
import type {
  Channel,
  DeliveryStatus,
  Locale,
  NewInboxItem,
  PlannedDelivery,
  PreferenceSettings,
  Recipient,
} from '../domain/model';
import { inTransaction } from './db';

/**
 * The table of genre opt-ins (user_id, genre) the new-film announcements use; until it exists a
 * `genres` audience is refused with a 422 that says so.
 */
export const GENRE_OPT_INS_TABLE = 'genre_subscriptions';

interface Row {
  id: string;
  title: string;
  category: Campaign['category'];
  channels: Channel[];
  template: string;
  subject: string | null;
  body: string | null;
  vars: Record<string, string>;
  audience: Record<string, unknown>;
  send_at: Date;
  local_time: string | null;
  state: CampaignState;
  total: number;
  created_by: string;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const COLUMNS = `id::text, title, category, channels, template, subject, body, vars, audience, send_at,
  local_time, state, total, created_by, created_at, started_at, finished_at`;

const toCampaign = (r: Row): Campaign => ({
  id: r.id,
  title: r.title,
  category: r.category,
  channels: r.channels,
  template: r.template,
  subject: r.subject,
  body: r.body,
  vars: r.vars,
  audience: r.audience,
  sendAt: r.send_at,
  localTime: r.local_time,
  state: r.state,
  total: r.total,
  createdBy: r.created_by,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

export class PgCampaignsRepository implements CampaignsRepository {
  constructor(private readonly pool: Pool) {}

  async create(
    c: NewCampaign,
    now: Date,
    inside: (tx: unknown, campaign: Campaign) => Promise<void>,
  ): Promise<Campaign> {
    return inTransaction(this.pool, async (tx) => {
      const inserted = await tx.query<Row>(
        `INSERT INTO campaigns (title, category, channels, template, subject, body, vars, audience,
           send_at, local_time, state, total, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'scheduled', 0, $11) RETURNING ${COLUMNS}`,
        [
          c.title,
          c.category,
          c.channels,
          c.template,
          c.subject,
          c.body,
          c.vars,
          c.audienceSummary,
          c.sendAt,
          c.localTime,
          c.createdBy,
        ],
      );
      const id = inserted.rows[0]!.id;
      const total = await this.snapshot(tx, id, c, c.audience);
      if (total === 0) {
        throw new ValidationError('the audience resolves to nobody', {
          'body.audience': { message: 'no recipient matches' },
        });
      }
      if (c.localTime) {
        const late = await tx.query<{ tz: string }>(
          `SELECT DISTINCT r.time_zone AS tz FROM campaign_recipients cr JOIN recipients r USING (user_id)
           WHERE cr.campaign_id = $1 AND cr.due_at < $2::timestamptz - interval '1 minute' LIMIT 5`,
          [id, now],
        );
        if (late.rows.length) {
          throw new ValidationError(
            `${c.localTime} has passed in ${late.rows.map((r) => r.tz).join(', ')}`,
            {
              'body.sendAt': {
                message: "in the past in some recipients' time zones",
                value: c.localTime,
              },
            },
          );
        }
      }
      const res = await tx.query<Row>(
        `UPDATE campaigns SET total = $2,
           send_at = COALESCE((SELECT min(due_at) FROM campaign_recipients WHERE campaign_id = $1), send_at)
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, total],
      );
      const campaign = toCampaign(res.rows[0]!);
      await inside(tx, campaign);
      return campaign;
    });
  }

  /** Resolves the audience into campaign_recipients; answers how many. */
  private async snapshot(
    tx: PoolClient,
    id: string,
    c: NewCampaign,
    audience: Audience,
  ): Promise<number> {
    const params: unknown[] = [id, c.sendAt, c.localTime];
    let where = 'r.deleted_at IS NULL';
    if (audience.kind === 'role') {
      params.push(audience.role);
      where += ` AND r.roles @> ARRAY[$${params.length}]::text[]`;
    } else if (audience.kind === 'genres') {
      const exists = await tx.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [
        GENRE_OPT_INS_TABLE,
      ]);
      if (!exists.rows[0]?.t) {
        throw new ValidationError('genre opt-ins are not kept yet: choose another audience', {
          'body.audience.kind': { message: 'genres is not available yet', value: 'genres' },
        });
      }
      params.push(audience.genres.map((g) => g.toLowerCase()));
      where += ` AND r.user_id IN (SELECT user_id FROM ${GENRE_OPT_INS_TABLE} WHERE lower(genre) = ANY($${params.length}::text[]))`;
    } else if (audience.kind === 'list') {
      await this.checkKnown(tx, audience.ids, audience.emails);
      params.push(audience.ids, audience.emails);
      where += ` AND (r.user_id = ANY($${params.length - 1}::uuid[]) OR lower(r.email) = ANY($${params.length}::text[]))`;
    }
    const res = await tx.query(
      `WITH zones AS MATERIALIZED (SELECT name FROM pg_timezone_names)
       INSERT INTO campaign_recipients (campaign_id, user_id, due_at)
       SELECT $1, r.user_id,
         CASE WHEN $3::text IS NULL THEN $2::timestamptz
              WHEN r.time_zone IN (SELECT name FROM zones) THEN ($3::text::timestamp AT TIME ZONE r.time_zone)
              ELSE ($3::text::timestamp AT TIME ZONE 'UTC') END
       FROM recipients r WHERE ${where}`,
      params,
    );
    return res.rowCount ?? 0;
  }

  /** An explicit list naming users the projection does not know is refused (the first 10 shown). */
  private async checkKnown(tx: PoolClient, ids: string[], emails: string[]): Promise<void> {
    const unknown = await tx.query<{ v: string }>(
      `(SELECT i::text AS v FROM unnest($1::uuid[]) i
          WHERE NOT EXISTS (SELECT 1 FROM recipients r WHERE r.user_id = i AND r.deleted_at IS NULL) LIMIT 10)
       UNION ALL
       (SELECT e AS v FROM unnest($2::text[]) e
          WHERE NOT EXISTS (SELECT 1 FROM recipients r WHERE lower(r.email) = e AND r.deleted_at IS NULL) LIMIT 10)`,
      [ids, emails],
    );
    if (unknown.rows.length) {
      const names = unknown.rows.map((r) => r.v);
      throw new ValidationError(`unknown recipient(s): ${names.join(', ')}`, {
        'body.audience': { message: 'names users notifications does not know', value: names },
      });
    }
  }

  async get(id: string): Promise<Campaign | undefined> {
    const res = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM campaigns WHERE id = $1`, [id]);
    return res.rows[0] && toCampaign(res.rows[0]);
  }

  async list(o: { limit: number; before?: string; state?: CampaignState }): Promise<Campaign[]> {
    const res = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM campaigns
       WHERE ($2::bigint IS NULL OR id < $2) AND ($3::text IS NULL OR state = $3)
       ORDER BY id DESC LIMIT $1`,
      [o.limit, o.before ?? null, o.state ?? null],
    );
    return res.rows.map(toCampaign);
  }

  async progress(id: string): Promise<CampaignProgress> {
    const res = await this.pool.query<Record<keyof CampaignProgress, string>>(
      `SELECT
         (SELECT count(*) FROM campaign_recipients WHERE campaign_id = $1) AS recipients,
         (SELECT count(*) FROM campaign_recipients WHERE campaign_id = $1 AND planned_at IS NOT NULL) AS planned,
         (SELECT count(*) FROM campaign_held WHERE campaign_id = $1) AS held,
         (SELECT count(*) FROM campaign_recipients WHERE campaign_id = $1 AND error IS NOT NULL) AS "planFailed",
         count(*) FILTER (WHERE d.status IN ('queued', 'sending')) AS queued,
         count(*) FILTER (WHERE d.status = 'sent') AS sent,
         count(*) FILTER (WHERE d.status = 'failed') AS failed,
         count(*) FILTER (WHERE d.status = 'skipped') AS skipped,
         count(*) FILTER (WHERE d.status = 'skipped' AND d.reason = 'turned off by the user') AS "skippedByPreference"
       FROM deliveries d WHERE d.campaign_id = $1`,
      [id],
    );
    const r = res.rows[0]! as Record<string, string>;
    return {
      recipients: Number(r.recipients),
      planned: Number(r.planned),
      queued: Number(r.queued),
      sent: Number(r.sent),
      // Recipients the notifier refused to plan count as failed too.
      failed: Number(r.failed) + Number(r.planFailed),
      skipped: Number(r.skipped),
      skippedByPreference: Number(r.skippedByPreference),
      held: Number(r.held),
    };
  }

  async transition(
    id: string,
    from: readonly CampaignState[],
    to: CampaignState,
    now: Date,
    inside?: (tx: unknown, campaign: Campaign) => Promise<void>,
  ): Promise<Campaign | undefined> {
    return inTransaction(this.pool, async (tx) => {
      const before = await tx.query<{ state: CampaignState }>(
        `SELECT state FROM campaigns WHERE id = $1 FOR UPDATE`,
        [id],
      );
      const was = before.rows[0]?.state;
      if (!was || !from.includes(was)) return undefined;
      const res = await tx.query<Row>(
        `UPDATE campaigns SET state = $2, updated_at = $3,
           finished_at = CASE WHEN $2 IN ('finished', 'cancelled') THEN $3 ELSE finished_at END
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, to, now],
      );
      const row = { ...res.rows[0]!, was };
      if (to === 'paused') {
        await tx.query(
          `INSERT INTO campaign_held (delivery_id, campaign_id, not_before)
           SELECT id, campaign_id, not_before FROM deliveries WHERE campaign_id = $1 AND status = 'queued'
           ON CONFLICT (delivery_id) DO NOTHING`,
          [id],
        );
        await tx.query(
          `UPDATE deliveries d SET not_before = 'infinity' FROM campaign_held h
           WHERE h.campaign_id = $1 AND d.id = h.delivery_id AND d.status = 'queued'`,
          [id],
        );
      } else if (row.was === 'paused' && (to === 'running' || to === 'scheduled')) {
        await tx.query(
          `UPDATE deliveries d SET not_before = GREATEST(h.not_before, $2) FROM campaign_held h
           WHERE h.campaign_id = $1 AND d.id = h.delivery_id AND d.status = 'queued'`,
          [id, now],
        );
        await tx.query(`DELETE FROM campaign_held WHERE campaign_id = $1`, [id]);
      } else if (to === 'cancelled') {
        await tx.query(
          `UPDATE deliveries SET status = 'skipped', reason = 'campaign cancelled', locked_until = NULL
           WHERE campaign_id = $1 AND status = 'queued'`,
          [id],
        );
        await tx.query(`DELETE FROM campaign_held WHERE campaign_id = $1`, [id]);
      }
      const campaign = toCampaign(row);
      if (inside) await inside(tx, campaign);
      return campaign;
    });
  }

  async step(
    id: string,
    now: Date,
    batch: number,
    plan: BatchPlan,
  ): Promise<{ campaign: Campaign | undefined; planned: number; queued: Channel[] }> {
    return inTransaction(this.pool, async (tx) => {
      // Holding the row (FOR SHARE) makes a pause or cancel wait until this batch is planned.
      const res = await tx.query<Row>(`SELECT ${COLUMNS} FROM campaigns WHERE id = $1 FOR SHARE`, [
        id,
      ]);
      const row = res.rows[0];
      if (!row) return { campaign: undefined, planned: 0, queued: [] };
      let campaign = toCampaign(row);
      if (campaign.state !== 'scheduled' && campaign.state !== 'running') {
        return { campaign, planned: 0, queued: [] };
      }
      const due = await tx.query<{ user_id: string }>(
        `SELECT user_id FROM campaign_recipients
         WHERE campaign_id = $1 AND planned_at IS NULL AND due_at <= $2
         ORDER BY due_at, user_id LIMIT $3 FOR UPDATE SKIP LOCKED`,
        [id, now, batch],
      );
      if (!due.rows.length) return { campaign, planned: 0, queued: [] };
      if (campaign.state === 'scheduled') {
        const started = await tx.query<Row>(
          `UPDATE campaigns SET state = 'running', started_at = COALESCE(started_at, $2), updated_at = $2
           WHERE id = $1 AND state = 'scheduled' RETURNING ${COLUMNS}`,
          [id, now],
        );
        if (started.rows[0]) campaign = toCampaign(started.rows[0]);
      }
      const userIds = due.rows.map((r) => r.user_id);
      const { recipients, settings } = await loadRecipients(tx, userIds);
      const planned = plan(campaign, userIds, recipients, settings);
      await insertDeliveries(tx, planned.deliveries);
      await insertInbox(tx, planned.inbox);
      await tx.query(
        `UPDATE campaign_recipients SET planned_at = $2 WHERE campaign_id = $1 AND user_id = ANY($3::uuid[])`,
        [id, now, userIds],
      );
      const queued = [
        ...new Set(planned.deliveries.filter((d) => d.status === 'queued').map((d) => d.channel)),
      ];
      return { campaign, planned: userIds.length, queued };
    });
  }

  async nextDue(id: string): Promise<Date | null> {
    const res = await this.pool.query<{ at: Date | null }>(
      `SELECT min(due_at) AS at FROM campaign_recipients WHERE campaign_id = $1 AND planned_at IS NULL`,
      [id],
    );
    return res.rows[0]?.at ?? null;
  }

  async inFlight(id: string): Promise<boolean> {
    const res = await this.pool.query(
      `SELECT 1 FROM deliveries WHERE campaign_id = $1 AND status IN ('queued', 'sending') LIMIT 1`,
      [id],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async deliveries(
    filter: { campaignId?: string; userId?: string; status?: DeliveryStatus },
    options: { limit: number; after?: string },
  ): Promise<CampaignDelivery[]> {
    const res = await this.pool.query<{
      id: string;
      campaign_id: string | null;
      message_id: string;
      recipient: string;
      channel: Channel;
      category: CampaignDelivery['category'];
      status: DeliveryStatus;
      reason: string | null;
      attempts: number;
      created_at: Date;
      sent_at: Date | null;
    }>(
      `SELECT id::text, campaign_id::text, message_id, recipient, channel, category, status, reason,
         attempts, created_at, sent_at
       FROM deliveries
       WHERE ($1::bigint IS NULL OR campaign_id = $1) AND ($2::uuid IS NULL OR recipient = $2)
         AND ($3::text IS NULL OR status = $3) AND ($4::bigint IS NULL OR id < $4)
       ORDER BY id DESC LIMIT $5`,
      [
        filter.campaignId ?? null,
        filter.userId ?? null,
        filter.status ?? null,
        options.after ?? null,
        options.limit,
      ],
    );
    return res.rows.map((r) => ({
      id: r.id,
      campaignId: r.campaign_id,
      messageId: r.message_id,
      recipient: r.recipient,
      channel: r.channel,
      category: r.category,
      status: r.status,
      reason: r.reason,
      attempts: r.attempts,
      createdAt: r.created_at,
      sentAt: r.sent_at,
    }));
  }

  async retry(
    campaignId: string,
    deliveryId: string | undefined,
    now: Date,
    tx?: unknown,
  ): Promise<{ count: number; channels: Channel[] }> {
    const res = await ((tx as PoolClient | undefined) ?? this.pool).query<{ channel: Channel }>(
      `UPDATE deliveries SET status = 'queued', attempts = 0, reason = NULL, not_before = $3, locked_until = NULL
       WHERE campaign_id = $1 AND status = 'failed' AND ($2::bigint IS NULL OR id = $2)
       RETURNING channel`,
      [campaignId, deliveryId ?? null, now],
    );
    return { count: res.rowCount ?? 0, channels: [...new Set(res.rows.map((r) => r.channel))] };
  }

  async active(): Promise<Array<{ id: string; next: Date | null }>> {
    const res = await this.pool.query<{ id: string; next: Date | null }>(
      `SELECT c.id::text,
         (SELECT min(due_at) FROM campaign_recipients WHERE campaign_id = c.id AND planned_at IS NULL) AS next
       FROM campaigns c WHERE c.state IN ('scheduled', 'running')`,
    );
    return res.rows;
  }
}

interface RecipientRow {
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

/** The batch's recipients (the projection's fields, as PgRecipientsRepository maps them) and settings. */
async function loadRecipients(
  tx: PoolClient,
  userIds: string[],
): Promise<{ recipients: Map<string, Recipient>; settings: Map<string, PreferenceSettings> }> {
  const rows = await tx.query<RecipientRow>(
    `SELECT user_id, email, email_verified, locale, time_zone, phone, phone_verified, first_name, roles,
       quiet_start::text, quiet_end::text, deleted_at
     FROM recipients WHERE user_id = ANY($1::uuid[])`,
    [userIds],
  );
  const recipients = new Map<string, Recipient>();
  for (const r of rows.rows) {
    recipients.set(r.user_id, {
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
        r.quiet_start && r.quiet_end
          ? { start: r.quiet_start.slice(0, 5), end: r.quiet_end.slice(0, 5) }
          : null,
      deletedAt: r.deleted_at,
    });
  }
  const prefs = await tx.query<{
    user_id: string;
    category: string;
    channel: string;
    enabled: boolean;
  }>(
    `SELECT user_id, category, channel, enabled FROM preferences WHERE user_id = ANY($1::uuid[])`,
    [userIds],
  );
  const settings = new Map<string, PreferenceSettings>();
  for (const p of prefs.rows) {
    const s = settings.get(p.user_id) ?? {};
    const byChannel = ((s as Record<string, Record<string, boolean>>)[p.category] ??= {});
    byChannel[p.channel] = p.enabled;
    settings.set(p.user_id, s);
  }
  return { recipients, settings };
}

/** The batch's deliveries in one statement, each once (the deliveries' unique key). */
async function insertDeliveries(tx: PoolClient, rows: PlannedDelivery[]): Promise<void> {
  if (!rows.length) return;
  await tx.query(
    `INSERT INTO deliveries (message_id, channel, recipient, category, template, locale, vars, priority,
       status, reason, not_before, address, campaign_id, sent_at)
     SELECT d.message_id, d.channel, d.recipient, d.category, d.template, d.locale, d.vars::jsonb, d.priority,
       d.status, d.reason, d.not_before, d.address, d.campaign_id, CASE WHEN d.status = 'sent' THEN now() END
     FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],
       $8::smallint[], $9::text[], $10::text[], $11::timestamptz[], $12::text[], $13::bigint[])
       AS d(message_id, channel, recipient, category, template, locale, vars, priority, status, reason,
            not_before, address, campaign_id)
     ON CONFLICT (message_id, channel, recipient) DO NOTHING`,
    [
      rows.map((d) => d.messageId),
      rows.map((d) => d.channel),
      rows.map((d) => d.recipient),
      rows.map((d) => d.category),
      rows.map((d) => d.template),
      rows.map((d) => d.locale),
      rows.map((d) => JSON.stringify(d.vars)),
      rows.map((d) => d.priority),
      rows.map((d) => d.status),
      rows.map((d) => d.reason ?? null),
      rows.map((d) => d.notBefore),
      rows.map((d) => d.address),
      rows.map((d) => d.campaignId ?? null),
    ],
  );
}

async function insertInbox(tx: PoolClient, items: NewInboxItem[]): Promise<void> {
  if (!items.length) return;
  await tx.query(
    `INSERT INTO inbox (user_id, message_id, category, title, body, link, data)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[])
     ON CONFLICT (user_id, message_id) DO NOTHING`,
    [
      items.map((i) => i.userId),
      items.map((i) => i.messageId),
      items.map((i) => i.category),
      items.map((i) => i.title),
      items.map((i) => i.body),
      items.map((i) => i.link ?? null),
      items.map((i) => JSON.stringify(i.data ?? {})),
    ],
  );
}
