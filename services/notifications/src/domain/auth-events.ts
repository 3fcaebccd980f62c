/**
 * auth's `auth.events` (docs/contracts.md) turned into the recipients projection and messages.
 * A payload that does not have the contract's shape is a ValidationError: the consumer sends it
 * to the dead-letter queue at once.
 */
import { ValidationError } from '@cinema/errors';
import type { Notifier } from './notifier';
import { checkQuietHours, isTimeZone } from './preferences';
import { LOCALES, type Locale, type RecipientChange, type RecipientsRepository } from './model';

export const AUTH_ROUTING_KEYS = [
  'user.registered',
  'user.updated',
  'user.deleted',
  'user.password_reset_requested',
  'user.login_new_device',
  'user.email_verification_requested',
  'user.email_verified',
  'user.email_change_requested',
  'user.email_changed',
] as const;

export interface AuthEvent {
  messageId: string;
  routingKey: string;
  /** When auth wrote it (orders projection updates); the receive time when unknown. */
  occurredAt: Date;
  payload: unknown;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reads fields of a payload, collecting every problem into one ValidationError. */
class Fields {
  private readonly problems: Record<string, { message: string; value?: unknown }> = {};
  constructor(private readonly p: Record<string, unknown>) {}
  str(name: string, required = true): string | undefined {
    const v = this.p[name];
    if (v === undefined || v === null) {
      if (required) this.problems[name] = { message: 'required' };
      return undefined;
    }
    if (typeof v !== 'string' || v.length > 2000)
      this.problems[name] = { message: 'a string', value: typeof v };
    return typeof v === 'string' ? v : undefined;
  }
  uuid(name: string): string {
    const v = this.str(name);
    if (v !== undefined && !UUID.test(v)) this.problems[name] = { message: 'a UUID', value: v };
    return v ?? '';
  }
  bool(name: string): boolean | undefined {
    const v = this.p[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') this.problems[name] = { message: 'true or false', value: v };
    return typeof v === 'boolean' ? v : undefined;
  }
  has(name: string): boolean {
    return name in this.p;
  }
  raw(name: string): unknown {
    return this.p[name];
  }
  done(routingKey: string): void {
    if (Object.keys(this.problems).length) {
      throw new ValidationError(
        `malformed ${routingKey}: ${JSON.stringify(this.problems)}`,
        this.problems,
      );
    }
  }
  fail(name: string, message: string, value?: unknown): void {
    this.problems[name] = { message, value };
  }
}

export class AuthEventsHandler {
  constructor(
    private readonly recipients: RecipientsRepository,
    private readonly notifier: Notifier,
  ) {}

  async handle(event: AuthEvent): Promise<void> {
    const p = event.payload;
    if (!p || typeof p !== 'object' || Array.isArray(p)) {
      throw new ValidationError(`malformed ${event.routingKey}: the payload is not a JSON object`);
    }
    const f = new Fields(p as Record<string, unknown>);
    const userId = f.uuid('user_id');
    const id = event.messageId;
    switch (event.routingKey) {
      case 'user.registered': {
        const email = f.str('email')!;
        const verified = f.bool('email_verified') ?? false;
        const change = this.profile(f, { userId, email, emailVerified: verified });
        const url = f.str('verification_url', false);
        f.done(event.routingKey);
        await this.recipients.apply(change, event.occurredAt);
        await this.notifier.notify({
          messageId: id,
          userId,
          category: 'account',
          template: 'welcome',
          channels: ['email', 'in_app'],
          vars: {
            name: f.str('first_name', false) ?? null,
            verification_url: verified ? null : (url ?? null),
            expires_at: f.str('verification_expires_at', false) ?? null,
          },
        });
        return;
      }
      case 'user.updated': {
        const change = this.profile(f, { userId });
        f.done(event.routingKey);
        await this.recipients.apply(change, event.occurredAt);
        return;
      }
      case 'user.deleted': {
        f.done(event.routingKey);
        await this.recipients.erase(userId, event.occurredAt);
        return;
      }
      case 'user.email_verified': {
        const email = f.str('email')!;
        f.done(event.routingKey);
        await this.recipients.apply({ userId, email, emailVerified: true }, event.occurredAt);
        return;
      }
      case 'user.email_changed': {
        const email = f.str('email')!;
        f.done(event.routingKey);
        await this.recipients.apply({ userId, email, emailVerified: true }, event.occurredAt);
        return;
      }
      case 'user.password_reset_requested':
      case 'user.email_verification_requested': {
        const email = f.str('email')!;
        const url = f.str(
          event.routingKey === 'user.password_reset_requested' ? 'reset_url' : 'verification_url',
          false,
        );
        const expiresAt = f.str('expires_at')!;
        f.done(event.routingKey);
        await this.ensureRecipient(userId, email, event.occurredAt);
        // The link was scrubbed (it expired before the event left auth): nothing to send.
        if (!url) return;
        const reset = event.routingKey === 'user.password_reset_requested';
        await this.notifier.notify({
          messageId: id,
          userId,
          category: reset ? 'security' : 'account',
          template: reset ? 'password_reset' : 'verify_email',
          channels: ['email'],
          emailTo: email,
          vars: reset
            ? { reset_url: url, expires_at: expiresAt }
            : { verification_url: url, expires_at: expiresAt },
        });
        return;
      }
      case 'user.login_new_device': {
        const email = f.str('email')!;
        const device = f.str('device', false) ?? f.str('device_type', false) ?? 'unknown device';
        const vars = {
          device,
          ip: f.str('ip', false) ?? null,
          method: f.str('method', false) ?? 'password',
        };
        f.done(event.routingKey);
        await this.ensureRecipient(userId, email, event.occurredAt);
        await this.notifier.notify({
          messageId: id,
          userId,
          category: 'security',
          template: 'login_new_device',
          channels: ['email', 'in_app', 'sms'],
          vars,
        });
        return;
      }
      case 'user.email_change_requested': {
        const email = f.str('email')!;
        const newEmail = f.str('new_email')!;
        const expiresAt = f.str('expires_at')!;
        const url = f.str('confirm_url', false);
        f.done(event.routingKey);
        await this.ensureRecipient(userId, email, event.occurredAt);
        // The new address gets the link (none when it belongs to another account), the current one a notice.
        if (url) {
          await this.notifier.notify({
            messageId: `${id}:confirm`,
            userId,
            category: 'account',
            template: 'email_change_confirm',
            channels: ['email'],
            emailTo: newEmail,
            vars: { confirm_url: url, expires_at: expiresAt },
          });
        }
        await this.notifier.notify({
          messageId: `${id}:notice`,
          userId,
          category: 'account',
          template: 'email_change_notice',
          channels: ['email', 'in_app'],
          emailTo: email,
          vars: { new_email: newEmail },
        });
        return;
      }
      default:
        // Bound by mistake or newer than this service: not ours, never retried.
        throw new ValidationError(`unexpected routing key ${event.routingKey}`);
    }
  }

  /** A recipient auth told us of before the projection had them (older accounts). */
  private async ensureRecipient(userId: string, email: string, occurredAt: Date): Promise<void> {
    // Applied as "oldest possible" so it never overrides a newer projection row.
    void occurredAt;
    await this.recipients.apply({ userId, email }, new Date(0)).catch(() => undefined);
  }

  /** The profile fields of user.registered / user.updated (contracts: all optional but user_id). */
  private profile(f: Fields, base: RecipientChange): RecipientChange {
    const change: RecipientChange = { ...base };
    if (f.has('email') && base.email === undefined) change.email = f.str('email', false) ?? null;
    const verified = f.bool('email_verified');
    if (verified !== undefined) change.emailVerified = verified;
    if (f.has('first_name')) change.firstName = f.str('first_name', false) ?? null;
    const locale = f.str('locale', false);
    if (locale !== undefined) {
      const short = locale.slice(0, 2).toLowerCase();
      if ((LOCALES as readonly string[]).includes(short)) change.locale = short as Locale;
    }
    const tz = f.str('time_zone', false);
    if (tz !== undefined) {
      if (isTimeZone(tz)) change.timeZone = tz;
      else f.fail('time_zone', 'an IANA time zone', tz);
    }
    if (f.has('phone')) change.phone = f.str('phone', false) ?? null;
    const phoneVerified = f.bool('phone_verified');
    if (phoneVerified !== undefined) change.phoneVerified = phoneVerified;
    const roles = f.raw('roles');
    if (Array.isArray(roles) && roles.every((r) => typeof r === 'string'))
      change.roles = roles as string[];
    const quiet = f.raw('quiet_hours');
    if (quiet && typeof quiet === 'object') {
      try {
        change.quietHours = checkQuietHours(quiet as { start: string; end: string }, 'quiet_hours');
      } catch {
        f.fail('quiet_hours', '{start, end} as HH:MM', quiet);
      }
    }
    return change;
  }
}
