/** The user's notification settings (API) and the one-click unsubscribe. */
import { BadRequestError, ValidationError } from '@cinema/errors';
import {
  checkQuietHours,
  checkSettings,
  effective,
  isLocked,
  isTimeZone,
  type PreferenceMatrix,
} from './preferences';
import {
  CATEGORIES,
  CHANNELS,
  LOCALES,
  MANDATORY_CATEGORIES,
  type Category,
  type Locale,
  type PreferencesRepository,
  type QuietHours,
  type RecipientChange,
  type RecipientsRepository,
  type UnsubscribeTokens,
} from './model';

export interface Settings {
  categories: PreferenceMatrix;
  /** (category, channel) pairs that cannot be turned off. */
  locked: Array<{ category: Category; channel: string }>;
  locale: Locale;
  timeZone: string;
  quietHours: QuietHours | null;
}

export interface SettingsUpdate {
  categories?: Record<string, Record<string, unknown>>;
  locale?: string;
  timeZone?: string;
  quietHours?: QuietHours | null;
}

export interface OwnSettingsStore extends RecipientsRepository {
  setOwn(change: RecipientChange): Promise<void>;
}

export class SettingsService {
  constructor(
    private readonly recipients: OwnSettingsStore,
    private readonly preferences: PreferencesRepository,
    private readonly tokens: UnsubscribeTokens,
  ) {}

  async get(userId: string): Promise<Settings> {
    const [recipient, settings] = await Promise.all([
      this.recipients.get(userId),
      this.preferences.get(userId),
    ]);
    return {
      categories: effective(settings),
      locked: CATEGORIES.flatMap((category) =>
        CHANNELS.filter((channel) => isLocked(category, channel)).map((channel) => ({
          category,
          channel,
        })),
      ),
      locale: recipient?.locale ?? 'en',
      timeZone: recipient?.timeZone ?? 'UTC',
      quietHours: recipient?.quietHours ?? null,
    };
  }

  /** Validates everything first (one 422 listing every bad field), then stores. */
  async update(userId: string, input: SettingsUpdate): Promise<Settings> {
    const fields: Record<string, { message: string; value?: unknown }> = {};
    let categories = {};
    try {
      categories = checkSettings(input.categories ?? {});
    } catch (err) {
      if (err instanceof ValidationError) Object.assign(fields, err.fields);
      else throw err;
    }
    if (input.locale !== undefined && !(LOCALES as readonly string[]).includes(input.locale)) {
      fields['body.locale'] = { message: `one of ${LOCALES.join(', ')}`, value: input.locale };
    }
    if (input.timeZone !== undefined && !isTimeZone(input.timeZone)) {
      fields['body.timeZone'] = {
        message: 'an IANA time zone (Europe/Moscow)',
        value: input.timeZone,
      };
    }
    if (input.quietHours !== undefined) {
      try {
        checkQuietHours(input.quietHours);
      } catch (err) {
        if (err instanceof ValidationError) Object.assign(fields, err.fields);
        else throw err;
      }
    }
    if (Object.keys(fields).length) throw new ValidationError('invalid settings', fields);
    const own: RecipientChange = { userId };
    if (input.locale !== undefined) own.locale = input.locale as Locale;
    if (input.timeZone !== undefined) own.timeZone = input.timeZone;
    if (input.quietHours !== undefined) own.quietHours = input.quietHours;
    // The row first (preferences reference it), then the switches.
    await this.recipients.setOwn(own);
    await this.preferences.set(userId, categories);
    return this.get(userId);
  }

  /** RFC 8058 one-click: turns the token's category off on e-mail; no session needed. */
  async unsubscribe(token: string): Promise<{ category: Category }> {
    const claim = this.tokens.verify(token);
    if (!claim) throw new BadRequestError('the unsubscribe link is invalid');
    if (MANDATORY_CATEGORIES.includes(claim.category)) {
      throw new BadRequestError(`${claim.category} messages cannot be turned off`);
    }
    const recipient = await this.recipients.get(claim.userId);
    if (recipient && !recipient.deletedAt) {
      await this.preferences.set(claim.userId, { [claim.category]: { email: false } });
    }
    // A deleted or unknown user: nothing to turn off, and nothing to tell an attacker either.
    return { category: claim.category };
  }
}
