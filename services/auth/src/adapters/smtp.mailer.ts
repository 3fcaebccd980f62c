/**
 * The mails auth sends itself (verification, e-mail change, password reset) over SMTP with
 * nodemailer, until the notifications service sends them from auth's events (AUTH_MAIL=off).
 * Plain-text messages: the designed templates belong to notifications. Sending happens in the
 * background; a failure is logged without the message (its link is a secret) and the user can
 * ask for the mail again.
 */
import nodemailer from 'nodemailer';
import type { Logger } from '@cinema/logging';
import type { Mail, Mailer } from '../domain/model';

export interface SmtpMailerOptions {
  smtpUrl: string;
  from: string;
  logger: Logger;
}

export interface SmtpMailer extends Mailer {
  /** Waits for the mails being sent (shutdown), then closes the connections. */
  close(): Promise<void>;
}

const when = (d: Date) => d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

export function render(mail: Mail): { subject: string; text: string } {
  switch (mail.kind) {
    case 'verify_email':
      return {
        subject: 'Confirm your e-mail address',
        text: `Welcome to Cinema.\n\nConfirm that this address is yours by opening this link:\n${mail.link}\n\nThe link works once, until ${when(mail.expiresAt)}. If you did not create an account, ignore this mail.\n`,
      };
    case 'email_change_confirm':
      return {
        subject: 'Confirm your new e-mail address',
        text: `Someone asked to use this address for a Cinema account.\n\nIf it was you, confirm by opening this link:\n${mail.link}\n\nThe link works once, until ${when(mail.expiresAt)}. Until then the account keeps its current address. If it was not you, ignore this mail.\n`,
      };
    case 'email_change_notice':
      return {
        subject: 'Your e-mail address is being changed',
        text: `A change of your Cinema account's e-mail address to ${mail.newEmail} was requested. It takes effect only once confirmed from that address.\n\nIf this was not you, change your password now and end your other sessions.\n`,
      };
    case 'password_reset':
      return {
        subject: 'Reset your password',
        text: `To choose a new password, open this link:\n${mail.link}\n\nThe link works once, until ${when(mail.expiresAt)}. Every session of the account ends when the password changes. If you did not ask for this, ignore this mail.\n`,
      };
  }
}

export function createSmtpMailer(o: SmtpMailerOptions): SmtpMailer {
  // nodemailer's own logger stays off (its default): it would print the messages and links.
  const transport = nodemailer.createTransport(o.smtpUrl);
  const inFlight = new Set<Promise<unknown>>();
  return {
    send(mail) {
      const { subject, text } = render(mail);
      const sending = transport
        .sendMail({ from: o.from, to: mail.to, subject, text })
        .catch((err: Error) =>
          // The error only: the message holds a single-use link.
          o.logger.warn({ err: { message: err.message }, kind: mail.kind }, 'mail not sent'),
        )
        .finally(() => inFlight.delete(sending));
      inFlight.add(sending);
    },
    async close() {
      await Promise.allSettled([...inFlight]);
      transport.close();
    },
  };
}

/** AUTH_MAIL=off: the notifications service sends the mails from the events. */
export const noMailer: Mailer = { send: () => undefined };
