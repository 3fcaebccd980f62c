/**
 * The rules of the preferences: defaults, the categories that cannot be turned off, and quiet
 * hours in the user's time zone. Pure functions (the clock is passed in).
 */
import { ValidationError } from '@cinema/errors';
import {
  CATEGORIES,
  CHANNELS,
  MANDATORY_CATEGORIES,
  isTransactional,
  type Category,
  type Channel,
  type PreferenceSettings,
  type QuietHours,
} from './model';

export type PreferenceMatrix = Record<Category, Record<Channel, boolean>>;

/** Without a setting: everything on but marketing (opt-in) and SMS beyond security. */
export function defaultEnabled(category: Category, channel: Channel): boolean {
  if (category === 'marketing') return false;
  if (channel === 'sms') return category === 'security';
  return true;
}

/** Security and account e-mail and in-app messages always go. */
export const isLocked = (category: Category, channel: Channel): boolean =>
  MANDATORY_CATEGORIES.includes(category) && channel !== 'sms';

export function effective(settings: PreferenceSettings): PreferenceMatrix {
  const matrix = {} as PreferenceMatrix;
  for (const category of CATEGORIES) {
    matrix[category] = {} as Record<Channel, boolean>;
    for (const channel of CHANNELS) {
      matrix[category][channel] = isLocked(category, channel)
        ? true
        : (settings[category]?.[channel] ?? defaultEnabled(category, channel));
    }
  }
  return matrix;
}

/** Refuses turning off what cannot be, and unknown categories or channels (one error, every field). */
export function checkSettings(
  settings: Record<string, Record<string, unknown>>,
): PreferenceSettings {
  const fields: Record<string, { message: string; value?: unknown }> = {};
  const out: PreferenceSettings = {};
  for (const [category, channels] of Object.entries(settings)) {
    if (!(CATEGORIES as readonly string[]).includes(category)) {
      fields[`body.categories.${category}`] = { message: `one of ${CATEGORIES.join(', ')}` };
      continue;
    }
    for (const [channel, enabled] of Object.entries(channels ?? {})) {
      const at = `body.categories.${category}.${channel}`;
      if (!(CHANNELS as readonly string[]).includes(channel)) {
        fields[at] = { message: `one of ${CHANNELS.join(', ')}` };
      } else if (typeof enabled !== 'boolean') {
        fields[at] = { message: 'true or false', value: enabled };
      } else if (!enabled && isLocked(category as Category, channel as Channel)) {
        fields[at] = { message: `${category} messages cannot be turned off`, value: enabled };
      } else {
        (out[category as Category] ??= {})[channel as Channel] = enabled;
      }
    }
  }
  if (Object.keys(fields).length) throw new ValidationError('invalid preferences', fields);
  return out;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const minutesOf = (hhmm: string) => {
  const m = HHMM.exec(hhmm)!;
  return Number(m[1]) * 60 + Number(m[2]);
};

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function checkQuietHours(
  q: QuietHours | null,
  field = 'body.quietHours',
): QuietHours | null {
  if (q === null) return null;
  if (!HHMM.test(q.start) || !HHMM.test(q.end) || q.start === q.end) {
    throw new ValidationError('invalid quiet hours', {
      [field]: { message: 'start and end as HH:MM, different', value: q },
    });
  }
  return q;
}

/** The wall-clock time in `timeZone` (hours, minutes, seconds, ms). */
function localTime(now: Date, timeZone: string): { minutes: number; seconds: number } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return { minutes: get('hour') * 60 + get('minute'), seconds: get('second') };
}

/**
 * When quiet hours hold `now` in the user's time zone: the instant they end (the morning);
 * else undefined. Hours may wrap midnight (22:00-08:00).
 */
export function quietUntil(
  now: Date,
  timeZone: string,
  quiet: QuietHours | null,
): Date | undefined {
  if (!quiet) return undefined;
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  const local = localTime(now, isTimeZone(timeZone) ? timeZone : 'UTC');
  const inside =
    start < end
      ? local.minutes >= start && local.minutes < end
      : local.minutes >= start || local.minutes < end;
  if (!inside) return undefined;
  const wait = (end - local.minutes + 1440) % 1440;
  const ms = now.getTime() + wait * 60_000 - local.seconds * 1000 - now.getUTCMilliseconds();
  return new Date(ms);
}

/** Quiet hours delay SMS and non-transactional e-mail; in-app and transactional mail go at once. */
export const delayedByQuietHours = (category: Category, channel: Channel): boolean =>
  channel !== 'in_app' && !isTransactional(category);

export function parseQuietHours(text: string): QuietHours | null {
  if (!text) return null;
  const [start, end] = text.split('-');
  return { start: start!, end: end! };
}
