import * as nodemailer from 'nodemailer';

interface MailDevEmail {
  subject: string;
  to: Array<{ address: string }>;
  text?: string;
}

describe('smtp (local stack, MailDev)', () => {
  it('catches a mail and lists it through the web API', async () => {
    const transport = nodemailer.createTransport(process.env.SMTP_URL!);
    const subject = `Your tickets ${process.pid}-${Date.now()}`;
    await transport.sendMail({
      from: 'box-office@cinema.test',
      to: 'viewer@example.test',
      subject,
      text: 'Row F, seat 12',
    });
    transport.close();

    let found: MailDevEmail | undefined;
    for (let i = 0; i < 40 && !found; i++) {
      const res = await fetch(`${process.env.MAILCATCHER_URL}/email`);
      expect(res.status).toBe(200);
      const mails = (await res.json()) as MailDevEmail[];
      found = mails.find((m) => m.subject === subject);
      if (!found) await new Promise((r) => setTimeout(r, 100));
    }
    expect(found).toBeDefined();
    expect(found!.to[0]?.address).toBe('viewer@example.test');
    expect(found!.text?.trim()).toBe('Row F, seat 12');
  });
});
