/**
 * A campaign paused or cancelled while some of its mails are being sent: the SMTP server here
 * holds its answer to DATA until the test says, then refuses for now (451). Those deliveries go
 * back to the queue after the pause or cancel, and must follow the campaign: held until resume
 * (then sent), or skipped. Before the fix they went back as plain queued rows and were sent
 * while the campaign was paused, or after it was cancelled.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createPool } from '@cinema/pg';
import { api, startService, waitFor, type TestService } from './helpers';

/** An SMTP server whose answers to DATA wait in `held` until released with a code. */
class HoldingSmtp {
  readonly held: Array<(code: string) => void> = [];
  accepted = 0;
  mode: 'hold' | 'accept' = 'hold';
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  async start(): Promise<string> {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      let data = false;
      let buffer = '';
      socket.write('220 holding ESMTP\r\n');
      socket.on('data', (chunk) => {
        buffer += chunk.toString('latin1');
        for (;;) {
          if (data) {
            const end = buffer.indexOf('\r\n.\r\n');
            if (end < 0) return;
            buffer = buffer.slice(end + 5);
            data = false;
            if (this.mode === 'accept') {
              this.accepted++;
              socket.write('250 queued\r\n');
            } else this.held.push((code) => socket.write(`${code} answer\r\n`));
            continue;
          }
          const nl = buffer.indexOf('\r\n');
          if (nl < 0) return;
          const line = buffer.slice(0, nl).toUpperCase();
          buffer = buffer.slice(nl + 2);
          if (line.startsWith('EHLO') || line.startsWith('HELO')) socket.write('250 holding\r\n');
          else if (line.startsWith('DATA')) {
            data = true;
            socket.write('354 go on\r\n');
          } else if (line.startsWith('QUIT')) socket.end('221 bye\r\n');
          else socket.write('250 ok\r\n');
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    return `smtp://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** Answers every held DATA with `code` (451: try again later). */
  release(code: string): number {
    const n = this.held.length;
    for (const answer of this.held.splice(0)) answer(code);
    return n;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
  }
}

const smtp = new HoldingSmtp();
let svc: TestService;
let token: string;
const CAMPAIGNS = '/api/v1/notifications/campaigns';

beforeAll(async () => {
  const url = await smtp.start();
  svc = await startService({
    SMTP_URL: url,
    EMAIL_RATE_PER_SECOND: '0',
    EMAIL_CONCURRENCY: '2',
    DELIVERY_MAX_ATTEMPTS: '5',
    CAMPAIGN_POLL_SECONDS: '0.5',
  });
  token = await svc.token(randomUUID(), ['admin']);
});

afterAll(async () => {
  await svc?.close();
  await smtp.stop();
});

async function campaignTo(n: number): Promise<string> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = randomUUID();
    ids.push(id);
    await svc.deps.recipients.apply(
      { userId: id, email: `race-${id.slice(0, 8)}@example.test`, emailVerified: true },
      new Date(),
    );
  }
  const res = await api(svc.url, CAMPAIGNS, {
    method: 'POST',
    token,
    body: {
      title: 'Race',
      category: 'new_films',
      channels: ['email'],
      template: 'message',
      vars: { title: 'Race', body: 'b' },
      audience: { kind: 'ids', ids },
    },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function statuses(campaignId: string) {
  const pool = createPool(process.env.DATABASE_URL!, {
    max: 1,
    options: `-c search_path=${svc.schema}`,
  });
  try {
    const r = await pool.query<{ status: string; reason: string | null; held: boolean }>(
      `SELECT d.status, d.reason, d.not_before = 'infinity' AS held
       FROM deliveries d WHERE d.campaign_id = $1 ORDER BY d.id`,
      [campaignId],
    );
    return r.rows;
  } finally {
    await pool.end();
  }
}

test('paused mid-send: the mails being sent come back held, and go only after resume', async () => {
  const id = await campaignTo(4);
  await waitFor(async () => smtp.held.length === 2, 60_000); // two sends in flight
  expect((await api(svc.url, `${CAMPAIGNS}/${id}/pause`, { method: 'POST', token })).status).toBe(
    200,
  );
  expect(smtp.release('451')).toBe(2); // the two in flight fail for now
  await waitFor(async () => (await statuses(id)).every((d) => d.status === 'queued'), 10_000);
  const held = await statuses(id);
  expect(held.map((d) => d.held)).toEqual([true, true, true, true]);
  expect(held.filter((d) => d.reason?.includes('451'))).toHaveLength(2);
  // Past the retry's backoff, nothing is sent while paused.
  svc.time.set(new Date(svc.time.now.getTime() + 60_000).toISOString());
  svc.deps.worker.wake('email');
  await new Promise((r) => setTimeout(r, 1_500));
  expect(smtp.held).toHaveLength(0);
  expect(smtp.accepted).toBe(0);

  smtp.mode = 'accept';
  expect((await api(svc.url, `${CAMPAIGNS}/${id}/resume`, { method: 'POST', token })).status).toBe(
    200,
  );
  svc.deps.worker.wake('email');
  await waitFor(async () => (await statuses(id)).every((d) => d.status === 'sent'), 20_000);
  expect(smtp.accepted).toBe(4);
});

test('cancelled mid-send: the mails being sent come back skipped, never sent', async () => {
  smtp.mode = 'hold';
  smtp.accepted = 0;
  const id = await campaignTo(3);
  await waitFor(async () => smtp.held.length === 2, 60_000);
  expect((await api(svc.url, `${CAMPAIGNS}/${id}/cancel`, { method: 'POST', token })).status).toBe(
    200,
  );
  expect(smtp.release('451')).toBe(2);
  await waitFor(async () => (await statuses(id)).every((d) => d.status === 'skipped'), 10_000);
  expect((await statuses(id)).map((d) => d.reason)).toEqual([
    'campaign cancelled',
    'campaign cancelled',
    'campaign cancelled',
  ]);
  svc.time.set(new Date(svc.time.now.getTime() + 60_000).toISOString());
  svc.deps.worker.wake('email');
  await new Promise((r) => setTimeout(r, 1_500));
  expect(smtp.held).toHaveLength(0);
  expect(smtp.accepted).toBe(0);
});
