/**
 * E-mail through any SMTP server by URL (nodemailer, pooled connections). Non-transactional
 * mail carries `List-Unsubscribe` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
 * (RFC 8058). A 5xx answer for the recipient is permanent; anything else is retried.
 */
import nodemailer from 'nodemailer';
import { PermanentSendError, type Mailer, type OutgoingMail } from '../domain/model';

export interface SmtpMailer extends Mailer {
  close(): void;
  verify(): Promise<void>;
}

export function createSmtpMailer(options: {
  smtpUrl: string;
  from: string;
  messageIdDomain?: string;
  /** Pooled connections (the worker's e-mail concurrency). */
  maxConnections?: number;
}): SmtpMailer {
  const transport = nodemailer.createTransport(
    options.smtpUrl.includes('pool=')
      ? options.smtpUrl
      : ({
          url: options.smtpUrl,
          pool: true,
          maxConnections: options.maxConnections ?? 5,
        } as never),
  );
  const domain = options.messageIdDomain ?? 'notifications.cinema.local';
  return {
    async send(mail: OutgoingMail): Promise<void> {
      if (/[\r\n]/.test(mail.to) || /[\r\n]/.test(mail.subject)) {
        throw new PermanentSendError('a header value holds a line break');
      }
      const headers: Record<string, string> = {};
      if (mail.unsubscribeUrl) {
        headers['List-Unsubscribe'] = `<${mail.unsubscribeUrl}>`;
        headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
      } else {
        headers['Auto-Submitted'] = 'auto-generated';
      }
      try {
        await transport.sendMail({
          from: options.from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          messageId: `<delivery-${mail.deliveryId}@${domain}>`,
          headers,
        });
      } catch (err) {
        const code = (err as { responseCode?: number }).responseCode;
        if (code && code >= 500 && code < 600)
          throw new PermanentSendError(`SMTP ${code}: ${(err as Error).message}`);
        throw err;
      }
    },
    close: () => transport.close(),
    verify: async () => {
      await transport.verify();
    },
  };
}
