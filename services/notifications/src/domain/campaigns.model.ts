/** Mass and scheduled sends: the campaign vocabulary and the ports of its use cases. */
import type {
  Category,
  Channel,
  DeliveryStatus,
  NewInboxItem,
  PlannedDelivery,
  PreferenceSettings,
  Recipient,
} from './model';

export const CAMPAIGN_STATES = ['scheduled', 'running', 'paused', 'finished', 'cancelled'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];

/**
 * Categories a campaign may carry: only those a user can turn off (a mass send can never ride
 * on the mandatory `security` / `account` categories past the users' preferences).
 */
export const CAMPAIGN_CATEGORIES = ['marketing', 'new_films', 'review_activity'] as const;
export type CampaignCategory = (typeof CAMPAIGN_CATEGORIES)[number];

/** The template ad-hoc campaigns go through (variables `title`, `body`). */
export const ADHOC_TEMPLATE = 'message';
/** Named templates a campaign may use: `message` and `campaign_*` (never transactional ones). */
export const isCampaignTemplate = (name: string): boolean =>
  name === ADHOC_TEMPLATE || /^campaign_[a-z0-9_]+$/.test(name);

export type AudienceInput =
  | { kind: 'everyone' }
  | { kind: 'role'; role: string }
  | { kind: 'genres'; genres: string[] }
  | { kind: 'ids'; ids: string[] }
  | { kind: 'csv'; csv: string };

/** The resolved form the repository selects by (CSV parsed into ids and e-mail addresses). */
export type Audience =
  | { kind: 'everyone' }
  | { kind: 'role'; role: string }
  | { kind: 'genres'; genres: string[] }
  | { kind: 'list'; ids: string[]; emails: string[] };

/** What an admin composes (API body, panel form). */
export interface CampaignDraft {
  title: string;
  category: string;
  channels: string[];
  /** A named template (with `vars`) ... */
  template?: string;
  /** ... or an ad-hoc subject and body with `{{variable}}` placeholders. */
  subject?: string;
  body?: string;
  vars?: Record<string, unknown>;
  /** Checked by the use case (`AudienceInput` once valid). */
  audience: { kind: string; role?: unknown; genres?: unknown; ids?: unknown; csv?: unknown };
  /** ISO date-time with an offset; absent: now. With `localTime`: a wall-clock `YYYY-MM-DDTHH:MM`. */
  sendAt?: string;
  /** Send at `sendAt` in each recipient's own time zone. */
  localTime?: boolean;
}

/** A checked draft, ready to store. */
export interface NewCampaign {
  title: string;
  category: CampaignCategory;
  channels: Channel[];
  template: string;
  subject: string | null;
  body: string | null;
  /** The variables the notifier gets (ad-hoc: `title` and the filled-in `body`). */
  vars: Record<string, string>;
  audience: Audience;
  /** Shown in the campaign (an explicit list is summarised, not stored twice). */
  audienceSummary: Record<string, unknown>;
  sendAt: Date;
  localTime: string | null;
  createdBy: string;
}

export interface Campaign {
  id: string;
  title: string;
  category: CampaignCategory;
  channels: Channel[];
  template: string;
  subject: string | null;
  body: string | null;
  vars: Record<string, string>;
  audience: Record<string, unknown>;
  sendAt: Date;
  localTime: string | null;
  state: CampaignState;
  total: number;
  createdBy: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface CampaignProgress {
  /** Recipients in the audience. */
  recipients: number;
  /** Recipients whose deliveries are planned (the rest wait for their time or for the runner). */
  planned: number;
  /** Deliveries (one per recipient and channel) by status. */
  queued: number;
  sent: number;
  failed: number;
  skipped: number;
  /** Of `skipped`: turned off by the user's preferences. */
  skippedByPreference: number;
  /** Queued deliveries held while the campaign is paused. */
  held: number;
}

export interface CampaignDelivery {
  id: string;
  campaignId: string | null;
  messageId: string;
  recipient: string;
  channel: Channel;
  category: Category;
  status: DeliveryStatus;
  reason: string | null;
  attempts: number;
  createdAt: Date;
  sentAt: Date | null;
}

export interface Page<T> {
  items: T[];
  /** Pass as `after` for the next page; absent on the last. */
  next?: string;
}

/** A step of the runner: how many recipients it planned and when to run again (null: done). */
export interface StepResult {
  planned: number;
  next: Date | null;
  state: CampaignState;
}

/**
 * Plans a batch (no I/O): the recipients and their settings are loaded by the repository, the
 * rows it answers are written in the step's transaction.
 */
export type BatchPlan = (
  campaign: Campaign,
  userIds: string[],
  recipients: Map<string, Recipient>,
  settings: Map<string, PreferenceSettings>,
) => { deliveries: PlannedDelivery[]; inbox: NewInboxItem[] };

export interface CampaignsRepository {
  /**
   * Stores the campaign and its resolved audience in one transaction and calls `inside` in it
   * (the first job is sent there: nothing half-made). Throws ValidationError when the audience
   * resolves to nobody, names unknown users, or (local time) is due in the past somewhere.
   */
  create(
    campaign: NewCampaign,
    now: Date,
    inside: (tx: unknown, campaign: Campaign) => Promise<void>,
  ): Promise<Campaign>;
  get(id: string): Promise<Campaign | undefined>;
  list(options: { limit: number; before?: string; state?: CampaignState }): Promise<Campaign[]>;
  progress(id: string): Promise<CampaignProgress>;
  /**
   * Moves `from` -> `to` (with the side effects: pause holds the campaign's queued deliveries,
   * resume releases them, cancel skips them); undefined when the campaign is in no `from` state.
   * `inside` runs in the same transaction (the resume job).
   */
  transition(
    id: string,
    from: readonly CampaignState[],
    to: CampaignState,
    now: Date,
    inside?: (tx: unknown, campaign: Campaign) => Promise<void>,
  ): Promise<Campaign | undefined>;
  /**
   * One step of the runner, in one transaction holding the campaign row (so a pause waits for
   * it): claims up to `batch` due, unplanned recipients (skipping rows another runner holds),
   * calls `plan` for them and marks them planned.
   */
  step(
    id: string,
    now: Date,
    batch: number,
    plan: BatchPlan,
  ): Promise<{ campaign: Campaign | undefined; planned: number; queued: Channel[] }>;
  /** Instant of the next unplanned recipient (null: all planned). */
  nextDue(id: string): Promise<Date | null>;
  /** Whether deliveries of the campaign are still queued or being sent. */
  inFlight(id: string): Promise<boolean>;
  deliveries(
    filter: { campaignId?: string; userId?: string; status?: DeliveryStatus },
    options: { limit: number; after?: string },
  ): Promise<CampaignDelivery[]>;
  /** Failed deliveries of the campaign (one, or all) back to the queue; their channels. */
  retry(
    campaignId: string,
    deliveryId: string | undefined,
    now: Date,
    /** The transaction of a `transition`'s `inside` (a finished campaign running again). */
    tx?: unknown,
  ): Promise<{ count: number; channels: Channel[] }>;
  /** Campaigns a runner should be working on (after a restart). */
  active(): Promise<Array<{ id: string; next: Date | null }>>;
}

/** The durable job queue that runs campaign steps (pg-boss). */
export interface CampaignJobs {
  /** Runs a step of the campaign at `at` (at most one waiting job per campaign). */
  schedule(campaignId: string, at: Date, tx?: unknown): Promise<void>;
}
