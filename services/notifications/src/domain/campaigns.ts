/**
 * Mass and scheduled sends: composing a campaign (every field checked before anything is
 * stored), its states (scheduled -> running -> finished; paused; cancelled) and the runner's step,
 * which plans the due recipients' deliveries through the notifier in batches. The job queue runs
 * steps durably, so a restart resumes where it stopped; the deliveries' unique key makes a step
 * that runs twice plan nothing twice.
 */
import { ConflictError, NotFoundError, ValidationError } from '@cinema/errors';
import {
  ADHOC_TEMPLATE,
  CAMPAIGN_CATEGORIES,
  isCampaignTemplate,
  type Audience,
  type AudienceInput,
  type Campaign,
  type CampaignDelivery,
  type CampaignDraft,
  type CampaignJobs,
  type CampaignProgress,
  type CampaignsRepository,
  type CampaignState,
  type NewCampaign,
  type StepResult,
} from './campaigns.model';
import type { CampaignPlanner } from './campaigns.planner';
import {
  CHANNELS,
  type Channel,
  type Clock,
  type DeliveryStatus,
  type TemplateRenderer,
} from './model';

export interface CampaignLimits {
  /** Largest CSV upload, in bytes. */
  csvMaxBytes: number;
  /** Most recipients an explicit list (ids or CSV) may name. */
  maxListSize: number;
}

type Fields = Record<string, { message: string; value?: unknown }>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EMAIL = /^[^\s@<>()",;:\\]+@[^\s@<>()",;:\\]+$/;
const VAR_NAME = /^[a-z_][a-z0-9_]{0,39}$/;
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const ROLE = /^[a-z_][a-z0-9_]{0,39}$/;
const GENRE = /^[\p{L}\p{N} _'&-]{1,60}$/u;

/**
 * Parses an uploaded CSV of recipients: one per line, a user id or an e-mail address in the first
 * column (or in a column named `user_id`/`id`/`email` when the first line is a header). Every bad
 * line is reported (the first 20), nothing is partly accepted.
 */
export function parseRecipientsCsv(
  csv: string,
  limits: CampaignLimits,
): { ids: string[]; emails: string[] } {
  if (Buffer.byteLength(csv, 'utf8') > limits.csvMaxBytes) {
    throw new ValidationError(`the CSV is larger than ${limits.csvMaxBytes} bytes`, {
      'body.audience.csv': { message: `at most ${limits.csvMaxBytes} bytes` },
    });
  }
  const lines = csv.replace(/^\uFEFF/, '').split(/\r?\n/);
  const cells = (line: string) =>
    line.split(/[,;\t]/).map((c) =>
      c
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .trim(),
    );
  let column = 0;
  let start = 0;
  const header = cells(lines[0] ?? '').map((c) => c.toLowerCase());
  const named = header.findIndex((c) => c === 'user_id' || c === 'id' || c === 'email');
  if (named >= 0) {
    column = named;
    start = 1;
  }
  const ids = new Set<string>();
  const emails = new Set<string>();
  const bad: string[] = [];
  for (let i = start; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    const value = cells(line)[column] ?? '';
    if (UUID.test(value)) ids.add(value.toLowerCase());
    else if (value.length <= 254 && EMAIL.test(value)) emails.add(value.toLowerCase());
    else bad.push(`line ${i + 1}`);
  }
  if (bad.length) {
    throw new ValidationError(
      `the CSV has ${bad.length} malformed line(s): ${bad.slice(0, 20).join(', ')}`,
      {
        'body.audience.csv': { message: 'each line: a user id or an e-mail address' },
      },
    );
  }
  if (ids.size + emails.size > limits.maxListSize) {
    throw new ValidationError(`the CSV names more than ${limits.maxListSize} recipients`);
  }
  return { ids: [...ids], emails: [...emails] };
}

/** Fills `{{name}}` placeholders of an ad-hoc text; an unknown name or any other `{{` is refused. */
export function fillPlaceholders(
  text: string,
  vars: Record<string, string>,
  field: string,
): string {
  const unknown = new Set<string>();
  const out = text.replace(/\{\{\s*([^{}]*?)\s*\}\}/g, (_m, name: string) => {
    if (!VAR_NAME.test(name) || !(name in vars)) {
      unknown.add(name);
      return '';
    }
    return vars[name]!;
  });
  if (unknown.size) {
    throw new ValidationError(`unknown template variable: ${[...unknown].join(', ')}`, {
      [field]: { message: `unknown variable(s) ${[...unknown].join(', ')}` },
    });
  }
  if (/\{\{|\}\}/.test(out)) {
    throw new ValidationError('malformed placeholder', { [field]: { message: 'use {{name}}' } });
  }
  return out;
}

/** `YYYY-MM-DDTHH:MM` wall-clock time (local-time campaigns). */
const WALL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/;

export interface CampaignServiceOptions {
  campaigns: CampaignsRepository;
  jobs: CampaignJobs;
  templates: Pick<TemplateRenderer, 'names' | 'has' | 'email' | 'sms' | 'inApp'>;
  clock: Clock;
  limits: CampaignLimits;
  /** Wakes the delivery worker after retried deliveries. */
  wake?: (channel: Channel) => void;
}

export class CampaignService {
  constructor(private readonly o: CampaignServiceOptions) {}

  /** Checks the draft (every bad field in one 422), then stores it with its first job. */
  async create(draft: CampaignDraft, createdBy: string): Promise<Campaign> {
    const campaign = await this.check(draft, createdBy);
    const now = this.o.clock();
    return this.o.campaigns.create(campaign, now, async (tx, stored) => {
      await this.o.jobs.schedule(
        stored.id,
        stored.sendAt.getTime() < now.getTime() ? now : stored.sendAt,
        tx,
      );
    });
  }

  /** The checks alone (the panel's preview uses them too). */
  async check(draft: CampaignDraft, createdBy: string): Promise<NewCampaign> {
    const fields: Fields = {};
    const d = (draft ?? {}) as Partial<CampaignDraft>;
    const title = typeof d.title === 'string' ? d.title.trim() : '';
    if (!title || title.length > 200 || CONTROL.test(title)) {
      fields['body.title'] = { message: '1 to 200 characters, one line' };
    }
    const category = d.category as (typeof CAMPAIGN_CATEGORIES)[number];
    if (!CAMPAIGN_CATEGORIES.includes(category)) {
      fields['body.category'] = {
        message: `one of ${CAMPAIGN_CATEGORIES.join(', ')}`,
        value: d.category,
      };
    }
    const channels = Array.isArray(d.channels) ? [...new Set(d.channels)] : [];
    if (!channels.length || channels.some((c) => !(CHANNELS as readonly string[]).includes(c))) {
      fields['body.channels'] = {
        message: `one or more of ${CHANNELS.join(', ')}`,
        value: d.channels,
      };
    }
    const vars: Record<string, string> = {};
    const rawVars = d.vars ?? {};
    if (typeof rawVars !== 'object' || Array.isArray(rawVars) || Object.keys(rawVars).length > 30) {
      fields['body.vars'] = { message: 'an object of at most 30 string values' };
    } else {
      for (const [k, v] of Object.entries(rawVars)) {
        if (!VAR_NAME.test(k)) fields[`body.vars.${k}`] = { message: 'a name: a-z, 0-9, _' };
        else if (typeof v !== 'string' || v.length > 5000)
          fields[`body.vars.${k}`] = { message: 'a string of at most 5000 characters' };
        else vars[k] = v;
      }
    }
    const adhoc = d.body !== undefined || d.subject !== undefined;
    let template = ADHOC_TEMPLATE;
    let subject: string | null = null;
    let body: string | null = null;
    let sendVars: Record<string, string> = vars;
    if (adhoc && d.template !== undefined) {
      fields['body.template'] = { message: 'a template or an ad-hoc subject and body, not both' };
    } else if (adhoc) {
      subject = typeof d.subject === 'string' ? d.subject.trim() : '';
      body = typeof d.body === 'string' ? d.body.trim() : '';
      if (!subject || subject.length > 200 || CONTROL.test(subject))
        fields['body.subject'] = { message: '1 to 200 characters, one line' };
      if (!body || body.length > 10_000) fields['body.body'] = { message: '1 to 10000 characters' };
      if (!fields['body.subject'] && !fields['body.body'] && !fields['body.vars']) {
        try {
          const filledSubject = fillPlaceholders(subject, vars, 'body.subject');
          const filledBody = fillPlaceholders(body, vars, 'body.body');
          sendVars = { title: filledSubject, body: filledBody };
          const used = new Set(
            [...`${subject} ${body}`.matchAll(/\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}/g)].map(
              (m) => m[1]!,
            ),
          );
          const unused = Object.keys(vars).filter((k) => !used.has(k));
          if (unused.length)
            fields['body.vars'] = {
              message: `unknown variable(s) ${unused.join(', ')}: not in the subject or body`,
            };
        } catch (err) {
          if (!(err instanceof ValidationError)) throw err;
          Object.assign(fields, err.fields);
        }
      }
    } else if (
      typeof d.template !== 'string' ||
      !isCampaignTemplate(d.template) ||
      !this.o.templates.names().includes(d.template)
    ) {
      fields['body.template'] = {
        message: `one of ${this.o.templates.names().filter(isCampaignTemplate).join(', ')} (or an ad-hoc subject and body)`,
        value: d.template,
      };
    } else {
      template = d.template;
    }
    if (!fields['body.template'] && !fields['body.channels'] && !fields['body.vars'] && !adhoc) {
      await this.checkTemplateVars(template, channels as Channel[], vars, fields);
    } else if (
      adhoc &&
      !fields['body.channels'] &&
      !Object.keys(fields).some((k) => k.startsWith('body.subject') || k.startsWith('body.body'))
    ) {
      for (const channel of channels as Channel[]) {
        if (!this.o.templates.has(template, channel))
          fields['body.channels'] = { message: `ad-hoc messages have no ${channel} part` };
      }
    }
    const now = this.o.clock();
    let sendAt = now;
    let localTime: string | null = null;
    if (d.localTime) {
      const m = typeof d.sendAt === 'string' ? WALL.exec(d.sendAt) : null;
      const probe = m && new Date(`${d.sendAt}:00Z`);
      if (
        !m ||
        !probe ||
        Number.isNaN(probe.getTime()) ||
        probe.toISOString().slice(0, 16) !== d.sendAt
      ) {
        fields['body.sendAt'] = {
          message: 'with localTime: a wall-clock time YYYY-MM-DDTHH:MM',
          value: d.sendAt,
        };
      } else {
        localTime = d.sendAt!;
        // The earliest instant anywhere (UTC+14); the repository checks each recipient's own.
        sendAt = new Date(probe.getTime() - 14 * 3600_000);
        if (probe.getTime() + 12 * 3600_000 <= now.getTime()) {
          fields['body.sendAt'] = { message: 'in the past in every time zone', value: d.sendAt };
        }
      }
    } else if (d.sendAt !== undefined && d.sendAt !== null && d.sendAt !== '') {
      const t =
        typeof d.sendAt === 'string' && /[zZ]|[+-]\d{2}:?\d{2}$/.test(d.sendAt)
          ? new Date(d.sendAt)
          : undefined;
      if (!t || Number.isNaN(t.getTime())) {
        fields['body.sendAt'] = {
          message: 'an ISO date-time with an offset (or Z)',
          value: d.sendAt,
        };
      } else if (t.getTime() < now.getTime() - 60_000) {
        fields['body.sendAt'] = { message: 'in the past', value: d.sendAt };
      } else if (t.getTime() > now.getTime() + 366 * 86_400_000) {
        fields['body.sendAt'] = { message: 'within a year', value: d.sendAt };
      } else {
        sendAt = t;
      }
    }
    let audience: Audience | undefined;
    let audienceSummary: Record<string, unknown> = {};
    try {
      ({ audience, audienceSummary } = this.audience(d.audience));
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      Object.assign(
        fields,
        Object.keys(err.fields).length ? err.fields : { 'body.audience': { message: err.message } },
      );
    }
    if (Object.keys(fields).length) throw new ValidationError('invalid campaign', fields);
    return {
      title,
      category,
      channels: channels as Channel[],
      template,
      subject,
      body,
      vars: sendVars,
      audience: audience!,
      audienceSummary,
      sendAt,
      localTime,
      createdBy,
    };
  }

  /**
   * Renders every chosen part in both locales (strict: a variable the template reads and the
   * draft lacks is a 422); then a variable whose removal changes nothing is unknown (422).
   */
  private async checkTemplateVars(
    template: string,
    channels: Channel[],
    vars: Record<string, string>,
    fields: Fields,
  ): Promise<void> {
    const render = async (v: Record<string, string>, locales: readonly ('en' | 'ru')[]) => {
      for (const channel of channels) {
        for (const locale of locales) {
          if (channel === 'email') await this.o.templates.email(template, locale, v);
          else if (channel === 'sms') this.o.templates.sms(template, locale, v);
          else this.o.templates.inApp(template, locale, v);
        }
      }
    };
    for (const channel of channels) {
      if (!this.o.templates.has(template, channel)) {
        fields['body.channels'] = { message: `template ${template} has no ${channel} part` };
        return;
      }
    }
    try {
      await render(vars, ['en', 'ru']);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      fields['body.vars'] = { message: err.message };
      return;
    }
    const unknown: string[] = [];
    for (const key of Object.keys(vars)) {
      const without = { ...vars };
      delete without[key];
      const used = await render(without, ['en']).then(
        () => false,
        (err: unknown) => {
          if (err instanceof ValidationError) return true;
          throw err;
        },
      );
      if (!used) unknown.push(key);
    }
    if (unknown.length)
      fields['body.vars'] = {
        message: `unknown variable(s) ${unknown.join(', ')} for template ${template}`,
      };
  }

  private audience(input: CampaignDraft['audience'] | AudienceInput | undefined): {
    audience: Audience;
    audienceSummary: Record<string, unknown>;
  } {
    const a = (input ?? {}) as Partial<Record<string, unknown>> & { kind?: string };
    const bad = (field: string, message: string) =>
      new ValidationError(message, { [`body.audience.${field}`]: { message } });
    switch (a.kind) {
      case 'everyone':
        return { audience: { kind: 'everyone' }, audienceSummary: { kind: 'everyone' } };
      case 'role':
        if (typeof a.role !== 'string' || !ROLE.test(a.role)) throw bad('role', 'a role name');
        return {
          audience: { kind: 'role', role: a.role },
          audienceSummary: { kind: 'role', role: a.role },
        };
      case 'genres': {
        const genres = Array.isArray(a.genres) ? [...new Set(a.genres)] : [];
        if (
          !genres.length ||
          genres.length > 50 ||
          genres.some((g) => typeof g !== 'string' || !GENRE.test(g))
        ) {
          throw bad('genres', '1 to 50 genre names');
        }
        return {
          audience: { kind: 'genres', genres: genres as string[] },
          audienceSummary: { kind: 'genres', genres },
        };
      }
      case 'ids': {
        const ids = Array.isArray(a.ids) ? a.ids : [];
        const malformed = ids.filter((id) => typeof id !== 'string' || !UUID.test(id));
        if (!ids.length) throw bad('ids', 'at least one user id');
        if (malformed.length) {
          throw new ValidationError(
            `malformed user id(s): ${malformed.slice(0, 10).map(String).join(', ')}`,
            {
              'body.audience.ids': {
                message: `${malformed.length} malformed user id(s)`,
                value: malformed.slice(0, 10),
              },
            },
          );
        }
        if (ids.length > this.o.limits.maxListSize)
          throw bad('ids', `at most ${this.o.limits.maxListSize} ids`);
        const unique = [...new Set((ids as string[]).map((i) => i.toLowerCase()))];
        return {
          audience: { kind: 'list', ids: unique, emails: [] },
          audienceSummary: { kind: 'ids', count: unique.length },
        };
      }
      case 'csv': {
        if (typeof a.csv !== 'string' || !a.csv.trim()) throw bad('csv', 'the CSV text');
        const { ids, emails } = parseRecipientsCsv(a.csv, this.o.limits);
        if (!ids.length && !emails.length) throw bad('csv', 'the CSV names nobody');
        return {
          audience: { kind: 'list', ids, emails },
          audienceSummary: { kind: 'csv', count: ids.length + emails.length },
        };
      }
      default:
        throw bad('kind', 'one of everyone, role, genres, ids, csv');
    }
  }

  async get(id: string): Promise<Campaign> {
    const campaign = /^\d{1,18}$/.test(id) ? await this.o.campaigns.get(id) : undefined;
    if (!campaign) throw new NotFoundError(`no campaign ${id}`);
    return campaign;
  }

  list(options: { limit: number; before?: string; state?: CampaignState }): Promise<Campaign[]> {
    return this.o.campaigns.list(options);
  }

  async progress(id: string): Promise<CampaignProgress> {
    await this.get(id);
    return this.o.campaigns.progress(id);
  }

  async pause(id: string): Promise<Campaign> {
    return this.move(id, ['scheduled', 'running'], 'paused');
  }

  async resume(id: string): Promise<Campaign> {
    const current = await this.get(id);
    const to: CampaignState = current.startedAt ? 'running' : 'scheduled';
    const now = this.o.clock();
    return this.move(id, ['paused'], to, async (tx) => {
      await this.o.jobs.schedule(id, now, tx);
    });
  }

  async cancel(id: string): Promise<Campaign> {
    return this.move(id, ['scheduled', 'running', 'paused'], 'cancelled');
  }

  private async move(
    id: string,
    from: readonly CampaignState[],
    to: CampaignState,
    inside?: (tx: unknown, c: Campaign) => Promise<void>,
  ): Promise<Campaign> {
    const current = await this.get(id);
    const moved = await this.o.campaigns.transition(id, from, to, this.o.clock(), inside);
    if (!moved) {
      const now = (await this.o.campaigns.get(id))?.state ?? current.state;
      throw new ConflictError(`the campaign is ${now}: it cannot become ${to}`);
    }
    return moved;
  }

  /** Failed deliveries (one, or all of the campaign) go back to the queue. */
  async retry(id: string, deliveryId?: string): Promise<{ retried: number }> {
    const campaign = await this.get(id);
    if (campaign.state === 'paused' || campaign.state === 'cancelled') {
      throw new ConflictError(`the campaign is ${campaign.state}: resume it first`);
    }
    if (deliveryId !== undefined && !/^\d{1,18}$/.test(deliveryId))
      throw new NotFoundError(`no delivery ${deliveryId}`);
    const now = this.o.clock();
    let result: { count: number; channels: Channel[] } | undefined;
    if (campaign.state === 'finished') {
      // A finished campaign runs again until the retried deliveries are done (the runner
      // finishes it once more); nothing to retry leaves it finished (the transaction rolls back).
      try {
        await this.o.campaigns.transition(id, ['finished'], 'running', now, async (tx) => {
          result = await this.o.campaigns.retry(id, deliveryId, now, tx);
          if (result.count === 0) throw new NothingToRetry();
          await this.o.jobs.schedule(id, now, tx);
        });
      } catch (err) {
        if (!(err instanceof NothingToRetry)) throw err;
      }
    }
    // Not finished (or no longer: a concurrent retry moved it): the deliveries alone.
    result ??= await this.o.campaigns.retry(id, deliveryId, now);
    const { count, channels } = result;
    if (deliveryId !== undefined && count === 0)
      throw new ConflictError(`delivery ${deliveryId} of campaign ${id} has not failed`);
    for (const channel of channels) this.o.wake?.(channel);
    return { retried: count };
  }

  async deliveries(
    filter: { campaignId?: string; userId?: string; status?: string },
    options: { limit: number; after?: string },
  ): Promise<{ items: CampaignDelivery[]; next?: string }> {
    if (filter.campaignId !== undefined) await this.get(filter.campaignId);
    if (filter.userId !== undefined && !UUID.test(filter.userId)) {
      throw new ValidationError('malformed user id', {
        'path.userId': { message: 'a UUID', value: filter.userId },
      });
    }
    const statuses: DeliveryStatus[] = ['queued', 'sending', 'sent', 'failed', 'skipped'];
    if (filter.status !== undefined && !statuses.includes(filter.status as DeliveryStatus)) {
      throw new ValidationError('unknown status', {
        'query.status': { message: statuses.join(', '), value: filter.status },
      });
    }
    if (options.after !== undefined && !/^\d{1,18}$/.test(options.after)) {
      throw new ValidationError('malformed cursor', {
        'query.after': { message: 'a delivery id' },
      });
    }
    const limit = Math.min(Math.max(options.limit, 1), 500);
    const items = await this.o.campaigns.deliveries(
      { ...filter, status: filter.status as DeliveryStatus | undefined },
      { limit: limit + 1, after: options.after },
    );
    return items.length > limit
      ? { items: items.slice(0, limit), next: items[limit - 1]!.id }
      : { items };
  }
}

export interface CampaignRunnerOptions {
  campaigns: CampaignsRepository;
  /** The notifier's rules for a batch (campaigns.planner.ts). */
  planner: CampaignPlanner;
  clock: Clock;
  /** Recipients planned per step (one transaction). */
  batchSize: number;
  /** While every recipient is planned but deliveries are in flight: look again after this. */
  checkMs: number;
  /** Wakes the delivery worker after new deliveries. */
  wake?: (channel: Channel) => void;
}

class NothingToRetry extends Error {}

export const campaignMessageId = (campaignId: string): string => `campaign:${campaignId}`;

/**
 * The job handler's use case: one step of a campaign. A batch is planned and written in one
 * transaction with the recipients' `planned_at`, so a step that dies plans nothing and a step run
 * twice plans nothing twice.
 */
export class CampaignRunner {
  constructor(private readonly o: CampaignRunnerOptions) {}

  async step(campaignId: string): Promise<StepResult> {
    const now = this.o.clock();
    const { campaign, planned, queued } = await this.o.campaigns.step(
      campaignId,
      now,
      this.o.batchSize,
      (c, userIds, recipients, settings) =>
        this.o.planner.plan(c, campaignMessageId(c.id), userIds, recipients, settings, now),
    );
    for (const channel of queued) this.o.wake?.(channel);
    if (!campaign) return { planned: 0, next: null, state: 'cancelled' };
    if (campaign.state !== 'running' && campaign.state !== 'scheduled') {
      return { planned, next: null, state: campaign.state };
    }
    if (planned === this.o.batchSize) return { planned, next: now, state: campaign.state };
    const due = await this.o.campaigns.nextDue(campaignId);
    if (due) {
      return { planned, next: due.getTime() <= now.getTime() ? now : due, state: campaign.state };
    }
    if (await this.o.campaigns.inFlight(campaignId)) {
      return { planned, next: new Date(now.getTime() + this.o.checkMs), state: campaign.state };
    }
    const finished = await this.o.campaigns.transition(
      campaignId,
      ['running', 'scheduled'],
      'finished',
      now,
    );
    return { planned, next: null, state: finished?.state ?? campaign.state };
  }
}
