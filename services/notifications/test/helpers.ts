/**
 * Integration harness: the service's own wiring in-process on a private schema, queue prefix and
 * auth exchange (test isolation), listening on a free port; tokens from a test JWKS issuer; a
 * fake clock the use cases read. Mails are read from the stack's MailDev through its HTTP API.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as amqp from 'amqplib';
import { Lifecycle } from '@cinema/http';
import { createLogger } from '@cinema/logging';
import { createPool } from '@cinema/pg';
import { startTestIssuer, suffix, waitFor, type TestIssuer } from '@cinema/testing';
import { buildApp } from '../src/app';
import { readConfig, type Config } from '../src/config';
import { wire, type Dependencies } from '../src/wiring';

export { suffix, waitFor };

export interface FakeClock {
  now: Date;
  clock: () => Date;
  set(iso: string): void;
}

export function fakeClock(iso = '2026-06-01T12:00:00Z'): FakeClock {
  const c: FakeClock = {
    now: new Date(iso),
    clock: () => new Date(c.now),
    set: (at) => {
      c.now = new Date(at);
    },
  };
  return c;
}

export interface TestService {
  url: string;
  deps: Dependencies;
  config: Readonly<Config>;
  issuer: TestIssuer;
  time: FakeClock;
  schema: string;
  exchange: string;
  /** A confirm channel for the test's own publishing and queue inspection. */
  channel: amqp.ConfirmChannel;
  token(userId: string, roles?: string[]): Promise<string>;
  publish(routingKey: string, body: unknown, options?: amqp.Options.Publish): Promise<void>;
  close(): Promise<void>;
}

export async function startService(
  env: Record<string, string> = {},
  options: { clock?: FakeClock; start?: boolean } = {},
): Promise<TestService> {
  const id = suffix();
  const schema = `notif_t_${id}`;
  const exchange = `auth.events.test.${id}`;
  const issuer = await startTestIssuer();
  const config = readConfig({
    ...process.env,
    NOTIFICATIONS_DB_SCHEMA: schema,
    NOTIFICATIONS_QUEUE_PREFIX: `notifications.test.${id}`,
    AUTH_EVENTS_EXCHANGE: exchange,
    AUTH_JWKS_URL: issuer.jwksUrl,
    UNSUBSCRIBE_SECRET: 'test-unsubscribe-secret-0123456789abcdef',
    RETRY_DELAYS_MS: '300,600',
    DELIVERY_POLL_MS: '100',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const logger = createLogger({ service: 'notifications-test', level: config.LOG_LEVEL });
  const lifecycle = new Lifecycle(logger, 10_000);
  const time = options.clock ?? fakeClock(new Date().toISOString());
  let deps: Dependencies;
  try {
    deps = await wire(
      { config, logger, lifecycle },
      { clock: options.clock ? time.clock : undefined },
    );
  } catch (err) {
    await lifecycle.shutdown('wiring failed');
    throw err;
  }
  const server: Server = buildApp(deps).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  lifecycle.onShutdown('server', () => new Promise<void>((r) => server.close(() => r())));
  if (options.start !== false) await deps.start();
  const connection = await amqp.connect(config.AMQP_URL);
  const channel = await connection.createConfirmChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    deps,
    config,
    issuer,
    time,
    schema,
    exchange,
    channel,
    token: (userId, roles) => issuer.token(userId, roles),
    publish: async (routingKey, body, opts = {}) => {
      channel.publish(
        exchange,
        routingKey,
        Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body)),
        {
          persistent: true,
          contentType: 'application/json',
          type: routingKey,
          timestamp: Math.floor(Date.now() / 1000),
          appId: 'auth',
          ...opts,
        },
      );
      await channel.waitForConfirms();
    },
    close: async () => {
      server.closeAllConnections();
      await lifecycle.shutdown('test done');
      // Every consumer's queues (auth, catalog and ugc events), with their retry ladders and DLQ.
      for (const { names } of Object.values(deps.consumers))
        for (const q of [names.work, ...names.retries, names.dlq])
          await channel.deleteQueue(q).catch(() => undefined);
      await channel.deleteExchange(exchange).catch(() => undefined);
      await connection.close().catch(() => undefined);
      await issuer.close();
      const pool = createPool(process.env.DATABASE_URL!, { max: 1 });
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      // The campaigns' job queue (pg-boss) keeps its own schema.
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}_jobs" CASCADE`);
      await pool.end();
    },
  };
}

/** A JSON request with a Bearer token. */
export async function api(
  base: string,
  path: string,
  init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers of many shapes
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

/* ---------- the stack's mail catcher (MailDev) ---------- */

export interface CaughtMail {
  id: string;
  subject: string;
  text: string;
  html: string;
  to: Array<{ address: string }>;
  headers: Record<string, string>;
}

function catcher(): string {
  const url = process.env.MAILCATCHER_URL;
  if (!url) throw new Error('MAILCATCHER_URL is not set: start the stack with its smtp server');
  return url.replace(/\/+$/, '');
}

export async function mailsTo(address: string): Promise<CaughtMail[]> {
  const res = await fetch(`${catcher()}/email`);
  if (!res.ok) throw new Error(`mail catcher answered ${res.status}`);
  const all = (await res.json()) as CaughtMail[];
  return all.filter((m) => m.to.some((t) => t.address.toLowerCase() === address.toLowerCase()));
}

export async function mailTo(address: string, subject: RegExp, ms = 15_000): Promise<CaughtMail> {
  let found: CaughtMail | undefined;
  await waitFor(async () => {
    found = (await mailsTo(address)).find((m) => subject.test(m.subject));
    return Boolean(found);
  }, ms);
  return found!;
}

export async function deleteMailsTo(...addresses: string[]): Promise<void> {
  for (const address of addresses) {
    for (const m of await mailsTo(address)) {
      await fetch(`${catcher()}/email/${m.id}`, { method: 'DELETE' }).catch(() => undefined);
    }
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
