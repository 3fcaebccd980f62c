/**
 * One notification to one user, on the channels its category and the user's preferences allow:
 * plans a delivery per channel (e-mail and SMS are sent by the delivery worker, in-app goes to
 * the inbox at once), each once per (message id, channel, recipient). Campaigns and every event
 * consumer go through here.
 */
import { ValidationError } from '@cinema/errors';
import { delayedByQuietHours, effective, quietUntil } from './preferences';
import {
  isTransactional,
  type Category,
  type Channel,
  type Clock,
  type DeliveriesRepository,
  type Locale,
  type NewInboxItem,
  type PlannedDelivery,
  type PreferencesRepository,
  type QuietHours,
  type Recipient,
  type RecipientsRepository,
  type TemplateRenderer,
} from './model';

export interface NotifyRequest {
  /** The idempotency key: the event's message id (with a suffix when one event sends several). */
  messageId: string;
  userId: string;
  category: Category;
  template: string;
  vars: Record<string, unknown>;
  /** The channels this message is meant for (each still subject to the preferences). */
  channels: Channel[];
  /** Send the e-mail to this address instead of the recipient's (the new address of a change). */
  emailTo?: string;
  campaignId?: string;
}

export type ChannelOutcome = {
  channel: Channel;
  status: 'queued' | 'sent' | 'skipped';
  reason?: string;
};

export interface NotifierOptions {
  recipients: RecipientsRepository;
  preferences: PreferencesRepository;
  deliveries: DeliveriesRepository;
  templates: TemplateRenderer;
  clock: Clock;
  /** Categories SMS may carry. */
  smsCategories: readonly Category[];
  /** Whether an SMS provider is configured. */
  smsEnabled: boolean;
  /** Quiet hours of users who set none. */
  defaultQuietHours: QuietHours | null;
  /** Wakes the delivery worker after new deliveries. */
  wake?: (channel: Channel) => void;
}

const EMAIL = /^[^\s@<>()",;:\\]+@[^\s@<>()",;:\\]+$/;
export const isEmailAddress = (a: string): boolean => a.length <= 254 && EMAIL.test(a);

export class Notifier {
  constructor(private readonly o: NotifierOptions) {}

  async notify(
    request: NotifyRequest,
  ): Promise<{ outcomes: ChannelOutcome[]; duplicates: number }> {
    const recipient = await this.o.recipients.get(request.userId);
    const settings = recipient ? await this.o.preferences.get(request.userId) : {};
    return this.plan(request, recipient, effective(settings));
  }

  private async plan(
    request: NotifyRequest,
    recipient: Recipient | undefined,
    prefs: ReturnType<typeof effective>,
  ): Promise<{ outcomes: ChannelOutcome[]; duplicates: number }> {
    const now = this.o.clock();
    const locale: Locale = recipient?.locale ?? 'en';
    const transactional = isTransactional(request.category);
    const deliveries: PlannedDelivery[] = [];
    const inbox: NewInboxItem[] = [];
    const outcomes: ChannelOutcome[] = [];
    // A variable missing in any part or locale is a 4xx now, not a failed delivery later.
    this.o.templates.check(request.template, request.vars);
    for (const channel of [...new Set(request.channels)]) {
      if (!this.o.templates.has(request.template, channel === 'in_app' ? 'in_app' : channel)) {
        throw new ValidationError(`template ${request.template} has no ${channel} part`);
      }
      const base = {
        messageId: request.messageId,
        channel,
        recipient: request.userId,
        category: request.category,
        template: request.template,
        locale,
        vars: request.vars,
        priority: transactional ? 0 : request.campaignId ? 8 : 5,
        notBefore: now,
        campaignId: request.campaignId,
      };
      const skip = this.skipReason(request, recipient, prefs, channel);
      if (skip) {
        deliveries.push({ ...base, status: 'skipped', reason: skip, address: null, vars: {} });
        outcomes.push({ channel, status: 'skipped', reason: skip });
        continue;
      }
      if (channel === 'in_app') {
        const rendered = this.o.templates.inApp(request.template, locale, request.vars);
        inbox.push({
          userId: request.userId,
          messageId: request.messageId,
          category: request.category,
          title: rendered.title,
          body: rendered.body,
          link: rendered.link,
          data: { template: request.template },
        });
        deliveries.push({ ...base, status: 'sent', address: null, vars: {} });
        outcomes.push({ channel, status: 'sent' });
        continue;
      }
      const address =
        channel === 'email' ? (request.emailTo ?? recipient!.email!) : recipient!.phone!;
      const quiet = delayedByQuietHours(request.category, channel)
        ? quietUntil(now, recipient!.timeZone, recipient!.quietHours ?? this.o.defaultQuietHours)
        : undefined;
      deliveries.push({ ...base, status: 'queued', address, notBefore: quiet ?? now });
      outcomes.push({
        channel,
        status: 'queued',
        ...(quiet ? { reason: `quiet hours until ${quiet.toISOString()}` } : {}),
      });
    }
    const result = await this.o.deliveries.plan(deliveries, inbox);
    for (const channel of new Set(
      deliveries.filter((d) => d.status === 'queued').map((d) => d.channel),
    )) {
      this.o.wake?.(channel);
    }
    return { outcomes, duplicates: result.duplicates };
  }

  private skipReason(
    request: NotifyRequest,
    recipient: Recipient | undefined,
    prefs: ReturnType<typeof effective>,
    channel: Channel,
  ): string | undefined {
    if (!recipient && !request.emailTo) return 'unknown recipient';
    if (recipient?.deletedAt) return 'recipient deleted';
    if (!prefs[request.category][channel]) return 'turned off by the user';
    if (channel === 'email') {
      const address = request.emailTo ?? recipient?.email;
      if (!address || !isEmailAddress(address)) return 'no valid e-mail address';
      // Only account and security mail (verification links among them) go to unverified addresses.
      if (!isTransactional(request.category) && !recipient?.emailVerified)
        return 'e-mail address not verified';
    }
    if (channel === 'sms') {
      if (!this.o.smsEnabled) return 'no SMS provider configured';
      if (!this.o.smsCategories.includes(request.category))
        return `SMS does not carry ${request.category}`;
      if (!recipient?.phone || !recipient.phoneVerified) return 'no verified phone';
    }
    if (channel === 'in_app' && !recipient) return 'unknown recipient';
    return undefined;
  }
}
