/**
 * The local mail catcher (MailDev, started with the stack: SMTP_URL, MAILCATCHER_URL) read
 * through its HTTP API, as a user reads their mailbox: the tests never take a token from the
 * database.
 */
import { waitFor } from '@cinema/testing';

export interface CaughtMail {
  id: string;
  subject: string;
  text: string;
  to: Array<{ address: string }>;
}

function catcher(): string {
  const url = process.env.MAILCATCHER_URL;
  if (!url) throw new Error('MAILCATCHER_URL is not set: start the stack with its smtp server');
  return url.replace(/\/+$/, '');
}

/** Every caught mail to `address`, oldest first. */
export async function mailsTo(address: string): Promise<CaughtMail[]> {
  const res = await fetch(`${catcher()}/email`);
  if (!res.ok) throw new Error(`mail catcher answered ${res.status}`);
  const all = (await res.json()) as CaughtMail[];
  return all.filter((m) => m.to.some((t) => t.address.toLowerCase() === address.toLowerCase()));
}

/** Waits for the `nth` (1-based) mail to `address` whose subject matches. */
export async function mailTo(
  address: string,
  subject: RegExp,
  { nth = 1, ms = 15_000 } = {},
): Promise<CaughtMail> {
  let found: CaughtMail | undefined;
  await waitFor(async () => {
    found = (await mailsTo(address)).filter((m) => subject.test(m.subject))[nth - 1];
    return Boolean(found);
  }, ms);
  return found!;
}

/** The single-use token of the link in a mail (`...#token=<token>`). */
export function tokenIn(mail: CaughtMail): string {
  const m = /#token=([A-Za-z0-9_%-]+)/.exec(mail.text);
  if (!m) throw new Error(`no link with a token in "${mail.subject}"`);
  return decodeURIComponent(m[1]!);
}

/** Removes the mails of these addresses from the catcher (tests clean up after themselves). */
export async function deleteMailsTo(...addresses: string[]): Promise<void> {
  for (const address of addresses) {
    for (const m of await mailsTo(address)) {
      await fetch(`${catcher()}/email/${m.id}`, { method: 'DELETE' }).catch(() => undefined);
    }
  }
}
