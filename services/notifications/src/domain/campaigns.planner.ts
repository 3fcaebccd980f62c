/**
 * The campaigns' batch path of the notifier: plans a whole batch of recipients with the notifier's
 * own rules (preferences through `effective`, quiet hours through `delayedByQuietHours` and
 * `quietUntil`, addresses through `isEmailAddress`; the same skip reasons, priority and
 * not-before), but renders a campaign's in-app part once per locale and writes the batch in one
 * statement per table instead of one transaction per recipient (a 100,000-recipient campaign went
 * at ~270 recipients/s through `Notifier.notify`). `campaigns.planner.int.test.ts` sends one
 * corpus through both and asserts the same rows.
 *
 * Campaign categories are never transactional (`CAMPAIGN_CATEGORIES`), so the transactional
 * branches of the notifier (unverified addresses allowed, priority 0, no quiet hours) do not
 * apply here.
 */
import { isEmailAddress } from './notifier';
import { delayedByQuietHours, effective, quietUntil } from './preferences';
import type { Campaign } from './campaigns.model';
import type {
  Category,
  Channel,
  Locale,
  NewInboxItem,
  PlannedDelivery,
  PreferenceSettings,
  QuietHours,
  Recipient,
  TemplateRenderer,
} from './model';

export interface PlannerOptions {
  templates: Pick<TemplateRenderer, 'inApp' | 'sms'>;
  smsCategories: readonly Category[];
  smsEnabled: boolean;
  defaultQuietHours: QuietHours | null;
}

export interface PlannedBatch {
  deliveries: PlannedDelivery[];
  inbox: NewInboxItem[];
}

export class CampaignPlanner {
  constructor(private readonly o: PlannerOptions) {}

  plan(
    campaign: Campaign,
    messageId: string,
    userIds: string[],
    recipients: Map<string, Recipient>,
    settings: Map<string, PreferenceSettings>,
    now: Date,
  ): PlannedBatch {
    const deliveries: PlannedDelivery[] = [];
    const inbox: NewInboxItem[] = [];
    const inApp = new Map<Locale, ReturnType<TemplateRenderer['inApp']>>();
    const channels = [...new Set(campaign.channels)];
    for (const userId of userIds) {
      const recipient = recipients.get(userId);
      const prefs = effective(recipient ? (settings.get(userId) ?? {}) : {});
      const locale: Locale = recipient?.locale ?? 'en';
      for (const channel of channels) {
        const base = {
          messageId,
          channel,
          recipient: userId,
          category: campaign.category as Category,
          template: campaign.template,
          locale,
          vars: campaign.vars as Record<string, unknown>,
          priority: 8,
          notBefore: now,
          campaignId: campaign.id,
        };
        const skip = this.skipReason(campaign.category, recipient, prefs, channel);
        if (skip) {
          deliveries.push({ ...base, status: 'skipped', reason: skip, address: null, vars: {} });
          continue;
        }
        if (channel === 'in_app') {
          let rendered = inApp.get(locale);
          if (!rendered) {
            rendered = this.o.templates.inApp(campaign.template, locale, campaign.vars);
            inApp.set(locale, rendered);
          }
          inbox.push({
            userId,
            messageId,
            category: campaign.category,
            title: rendered.title,
            body: rendered.body,
            link: rendered.link,
            data: { template: campaign.template },
          });
          deliveries.push({ ...base, status: 'sent', address: null, vars: {} });
          continue;
        }
        const address = channel === 'email' ? recipient!.email! : recipient!.phone!;
        const quiet = delayedByQuietHours(campaign.category, channel)
          ? quietUntil(now, recipient!.timeZone, recipient!.quietHours ?? this.o.defaultQuietHours)
          : undefined;
        deliveries.push({ ...base, status: 'queued', address, notBefore: quiet ?? now });
      }
    }
    return { deliveries, inbox };
  }

  /** The notifier's skip reasons for a non-transactional category. */
  private skipReason(
    category: Category,
    recipient: Recipient | undefined,
    prefs: ReturnType<typeof effective>,
    channel: Channel,
  ): string | undefined {
    if (!recipient) return 'unknown recipient';
    if (recipient.deletedAt) return 'recipient deleted';
    if (!prefs[category][channel]) return 'turned off by the user';
    if (channel === 'email') {
      if (!recipient.email || !isEmailAddress(recipient.email)) return 'no valid e-mail address';
      if (!recipient.emailVerified) return 'e-mail address not verified';
    }
    if (channel === 'sms') {
      if (!this.o.smsEnabled) return 'no SMS provider configured';
      if (!this.o.smsCategories.includes(category)) return `SMS does not carry ${category}`;
      if (!recipient.phone || !recipient.phoneVerified) return 'no verified phone';
    }
    return undefined;
  }
}
