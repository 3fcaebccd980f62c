/** The notifications' vocabulary and the ports of the use cases (no driver, no HTTP). */

export const CATEGORIES = [
  'security',
  'account',
  'new_films',
  'review_activity',
  'marketing',
] as const;
export type Category = (typeof CATEGORIES)[number];

export const CHANNELS = ['email', 'in_app', 'sms'] as const;
export type Channel = (typeof CHANNELS)[number];

/** Categories that cannot be turned off (on the channels that carry them). */
export const MANDATORY_CATEGORIES: readonly Category[] = ['security', 'account'];

/** Transactional mail (reset, verification, security alert): first in the queue, no unsubscribe. */
export const isTransactional = (category: Category): boolean =>
  MANDATORY_CATEGORIES.includes(category);

export const LOCALES = ['en', 'ru'] as const;
export type Locale = (typeof LOCALES)[number];

/** The projection of a user that notifications keeps (fed by auth.events). */
export interface Recipient {
  userId: string;
  email: string | null;
  emailVerified: boolean;
  locale: Locale;
  timeZone: string;
  phone: string | null;
  phoneVerified: boolean;
  firstName: string | null;
  roles: string[];
  /** Quiet hours in the user's local time, `HH:MM`; null: the service default. */
  quietHours: QuietHours | null;
  deletedAt: Date | null;
}

export interface QuietHours {
  start: string;
  end: string;
}

export type Clock = () => Date;
export const systemClock: Clock = () => new Date();

/* ---------- in-app inbox ---------- */

export interface InboxItem {
  id: string;
  category: Category;
  title: string;
  body: string;
  link: string | null;
  data: Record<string, unknown>;
  createdAt: Date;
  readAt: Date | null;
}

export interface NewInboxItem {
  userId: string;
  messageId: string;
  category: Category;
  title: string;
  body: string;
  link?: string | null;
  data?: Record<string, unknown>;
}

export interface InboxRepository {
  /** Newest first; `before` = an item id (keyset paging). */
  list(
    userId: string,
    options: { limit: number; before?: string; unreadOnly?: boolean },
  ): Promise<InboxItem[]>;
  /** Items with an id greater than `afterId`, oldest first (SSE resume). */
  since(userId: string, afterId: string, limit: number): Promise<InboxItem[]>;
  unreadCount(userId: string): Promise<number>;
  /** Marks one of the user's items read; false when the user has no such item. */
  markRead(userId: string, id: string): Promise<boolean>;
  markAllRead(userId: string): Promise<number>;
}

/** Live delivery of new inbox items to the user's open streams. */
export interface InboxFeed {
  subscribe(userId: string, listener: (item: InboxItem) => void): () => void;
}

/* ---------- recipients and preferences ---------- */

/** A change of the projection from an event; absent fields stay as they are. */
export interface RecipientChange {
  userId: string;
  email?: string | null;
  emailVerified?: boolean;
  locale?: Locale;
  timeZone?: string;
  phone?: string | null;
  phoneVerified?: boolean;
  firstName?: string | null;
  roles?: string[];
  quietHours?: QuietHours | null;
}

export interface RecipientsRepository {
  get(userId: string): Promise<Recipient | undefined>;
  /**
   * Applies a change unless a newer event was applied already (`eventAt`); creates the
   * recipient when missing. Answers whether it applied.
   */
  apply(change: RecipientChange, eventAt: Date): Promise<boolean>;
  /** Forgets the user: personal data, preferences and inbox go; the row stays, marked deleted. */
  erase(userId: string, eventAt: Date): Promise<void>;
}

/** (category, channel) -> enabled, for the settings the user made. */
export type PreferenceSettings = Partial<Record<Category, Partial<Record<Channel, boolean>>>>;

export interface PreferencesRepository {
  get(userId: string): Promise<PreferenceSettings>;
  set(userId: string, settings: PreferenceSettings): Promise<void>;
}

/* ---------- deliveries ---------- */

export type DeliveryStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'skipped';

export interface PlannedDelivery {
  messageId: string;
  channel: Channel;
  recipient: string;
  category: Category;
  template: string;
  locale: Locale;
  vars: Record<string, unknown>;
  priority: number;
  status: 'queued' | 'sent' | 'skipped';
  reason?: string;
  notBefore: Date;
  address: string | null;
  campaignId?: string;
}

export interface Delivery extends Omit<PlannedDelivery, 'status'> {
  id: string;
  status: DeliveryStatus;
  attempts: number;
}

export interface PlanResult {
  /** Rows inserted (the others existed already: a redelivered or republished event). */
  inserted: number;
  duplicates: number;
}

export interface DeliveriesRepository {
  /** Inserts the deliveries and inbox items in one transaction, each once (idempotent). */
  plan(deliveries: PlannedDelivery[], inbox: NewInboxItem[]): Promise<PlanResult>;
  /** Takes up to `limit` due deliveries of a channel, priority first, leased until `now + leaseMs`. */
  claim(channel: Channel, now: Date, limit: number, leaseMs: number): Promise<Delivery[]>;
  markSent(id: string, now: Date): Promise<void>;
  /** Back to the queue at `notBefore`, or `failed` (final) with the reason. */
  markRetry(id: string, reason: string, notBefore: Date): Promise<void>;
  markFailed(id: string, reason: string): Promise<void>;
  /** Leases of crashed workers expire: their deliveries are queued again. */
  releaseExpired(now: Date): Promise<number>;
}

/* ---------- channels ---------- */

export interface RenderedMessage {
  subject: string;
  html: string;
  text: string;
}

export interface TemplateRenderer {
  /** Throws ValidationError for an unknown template or a missing variable. */
  email(template: string, locale: Locale, vars: Record<string, unknown>): Promise<RenderedMessage>;
  sms(template: string, locale: Locale, vars: Record<string, unknown>): string;
  inApp(
    template: string,
    locale: Locale,
    vars: Record<string, unknown>,
  ): { title: string; body: string; link: string | null };
  has(template: string, part: 'email' | 'sms' | 'in_app'): boolean;
  /** Runs every part of every locale with `vars` (no MJML): ValidationError for a missing variable. */
  check(template: string, vars: Record<string, unknown>): void;
  names(): string[];
}

export interface OutgoingMail extends RenderedMessage {
  to: string;
  /** One-click unsubscribe URL (RFC 8058): non-transactional mail only. */
  unsubscribeUrl?: string;
  /** Stable per delivery (Message-ID). */
  deliveryId: string;
}

/** Thrown by a channel for a failure that retrying cannot fix (a refused address). */
export class PermanentSendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentSendError';
  }
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<void>;
}

export interface SmsProvider {
  send(sms: { to: string; text: string; category: Category; deliveryId: string }): Promise<void>;
}

export interface UnsubscribeTokens {
  sign(claim: { userId: string; category: Category }): string;
  /** Undefined for a forged, altered or malformed token. */
  verify(token: string): { userId: string; category: Category } | undefined;
}

/** Template variables holding a secret (a single-use link): removed once a delivery is done. */
export const SECRET_VARS = ['verification_url', 'reset_url', 'confirm_url'] as const;
