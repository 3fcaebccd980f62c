/**
 * Ended sessions, seen by every service within about a second (docs/contracts.md, "Session
 * revocations").
 *
 * The auth service writes one `session.revoked` event to its transactional outbox in the same
 * statement that ends sessions (logout, logout everywhere, revoke, password change or reset, role
 * change, account disabled, refresh-token reuse), and its outbox publisher sends it at once to the
 * `auth.events` topic exchange of RabbitMQ. Each verifier (each replica of each service) binds an
 * exclusive, auto-deleted queue of its own to that exchange with the key `session.revoked`, so
 * every replica gets every event (a fanout for that key), and keeps the session ids in a deny list
 * until the last access token of each session has expired (`exp` of the event).
 *
 * A verifier that (re)connects first binds its queue, then catches up on what it missed from
 * auth's `GET /api/v1/auth/revocations?since=` (the sessions auth ended since then, from
 * PostgreSQL), and only then calls itself live. Not live while configured: `/readyz` fails
 * (`revocations` check) and `auth_revocation_feed_up` is 0. Not configured
 * (AUTH_REVOCATIONS_AMQP_URL unset): tokens stay valid until they expire, readiness says so
 * without failing.
 */
import * as amqp from 'amqplib';
import * as client from 'prom-client';
import { z } from '@cinema/config';
import type { Lifecycle } from '@cinema/http';
import type { Logger } from '@cinema/logging';

/** Routing key of the revocation events on the auth events exchange. */
export const REVOKED_ROUTING_KEY = 'session.revoked';

/** One ended session: its tokens are refused until `exp` (seconds since the epoch). */
export interface RevokedSession {
  sid: string;
  exp: number;
}

/** The body of a `session.revoked` message. */
export interface RevocationEvent {
  message_id?: string;
  session_ids: string[];
  /** Seconds since the epoch: no access token of these sessions lives longer. */
  exp: number;
  revoked_at?: string;
  reason?: string;
}

/** The answer of `GET /api/v1/auth/revocations?since=`. */
export interface RevocationList {
  /** Auth's clock when it answered (ISO 8601): the next catch-up may start from here. */
  now: string;
  revocations: RevokedSession[];
}

/**
 * Session ids refused until their `exp`. `has` is one Map lookup (the hot path of every request);
 * expired entries are swept on insertion at most once a minute.
 */
export class DenyList {
  private readonly entries = new Map<string, number>();
  private nextSweep = 0;

  constructor(
    /** Kept this much past `exp` (clock skew between auth and this host). */
    private readonly marginMs = 60_000,
  ) {}

  add(sid: string, expSeconds: number, now = Date.now()): void {
    const until = expSeconds * 1000 + this.marginMs;
    if (until <= now) return;
    const previous = this.entries.get(sid);
    if (previous === undefined || previous < until) this.entries.set(sid, until);
    if (now >= this.nextSweep) this.sweep(now);
  }

  has(sid: string): boolean {
    return this.entries.has(sid);
  }

  get size(): number {
    return this.entries.size;
  }

  sweep(now = Date.now()): void {
    this.nextSweep = now + 60_000;
    for (const [sid, until] of this.entries) if (until <= now) this.entries.delete(sid);
  }
}

export type FeedState =
  'not-configured' | 'connecting' | 'catching-up' | 'live' | 'lost' | 'closed';

export interface RevocationFeedOptions {
  /** RabbitMQ of the auth events; undefined: the feed is not configured. */
  amqpUrl?: string;
  /** The auth events exchange (topic, durable), `auth.events`. */
  exchange?: string;
  /** Auth's catch-up endpoint, `<AUTH_URL>/api/v1/auth/revocations`. */
  catchUpUrl?: string;
  logger: Logger;
  denyList?: DenyList;
  /** Longest wait between reconnection attempts (backoff from 250 ms). */
  maxBackoffMs?: number;
  /** AMQP heartbeat: a silently dead connection is noticed after about twice this. */
  heartbeatSeconds?: number;
  /** Rewound this far before the moment the feed was lost when catching up (clock skew). */
  catchUpMarginMs?: number;
}

/** Receives the revocation events into a deny list; see the module comment. */
export class RevocationFeed {
  readonly denyList: DenyList;
  state: FeedState;
  /** Events received since start (messages and caught-up entries). */
  received = 0;
  /** Connections made after the first one. */
  reconnects = 0;
  private running = false;
  private loop?: Promise<void>;
  /** Closes the current connection (never waits on a dead one: amqplib's close would hang). */
  private closeConn?: () => Promise<void>;
  private lostAt?: number;
  private lastLiveAt?: number;
  private lastError?: string;
  private wake?: () => void;

  constructor(private readonly o: RevocationFeedOptions) {
    this.denyList = o.denyList ?? new DenyList();
    this.state = o.amqpUrl ? 'connecting' : 'not-configured';
  }

  get configured(): boolean {
    return this.o.amqpUrl !== undefined;
  }

  start(): this {
    if (!this.configured || this.running) return this;
    if (!this.o.catchUpUrl) {
      this.o.logger.warn(
        'revocation feed: no catch-up URL (AUTH_URL or AUTH_REVOCATIONS_URL): revocations missed while disconnected are not recovered',
      );
    }
    this.running = true;
    this.loop = this.run();
    return this;
  }

  async close(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.closeConn?.();
    await this.loop;
    this.state = this.configured ? 'closed' : 'not-configured';
  }

  /** Readiness check: fails only when the feed is configured and not live. */
  check = async (): Promise<{ detail: string }> => {
    switch (this.state) {
      case 'not-configured':
        return {
          detail:
            'revocation feed not configured (AUTH_REVOCATIONS_AMQP_URL unset): logged-out tokens stay valid until they expire',
        };
      case 'live':
        return { detail: `live; ${this.denyList.size} sessions denied` };
      default: {
        const since = this.lostAt ? ` since ${new Date(this.lostAt).toISOString()}` : '';
        const why = this.lastError ? `: ${this.lastError}` : '';
        throw new Error(`revocation feed ${this.state}${since}${why}`);
      }
    }
  };

  /** The feed's metrics on a service's registry (called by `createApp` of @cinema/http). */
  registerMetrics(registry: client.Registry): void {
    const gauge = (name: string, help: string, value: () => number) =>
      new client.Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(value());
        },
      });
    gauge(
      'auth_revocation_feed_up',
      'Whether the session revocation feed is live (1), or configured and lost (0); -1 when not configured',
      () => (this.state === 'live' ? 1 : this.configured ? 0 : -1),
    );
    gauge(
      'auth_revocation_feed_lost_seconds',
      'Seconds since the revocation feed was lost (0 while live or not configured)',
      () => (this.state !== 'live' && this.lostAt ? (Date.now() - this.lostAt) / 1000 : 0),
    );
    gauge(
      'auth_revocation_deny_list_size',
      'Session ids currently refused by the token verifier',
      () => this.denyList.size,
    );
    gauge(
      'auth_revocations_received',
      'Revoked sessions received since start (events and catch-up entries)',
      () => this.received,
    );
    gauge(
      'auth_revocation_feed_reconnects',
      'Reconnections of the revocation feed since start',
      () => this.reconnects,
    );
  }

  private async run(): Promise<void> {
    let failures = 0;
    let connectedBefore = false;
    while (this.running) {
      try {
        await this.connectAndFollow(connectedBefore);
        connectedBefore = true;
        failures = 0;
      } catch (err) {
        failures++;
        this.lastError = (err as Error)?.message ?? String(err);
        if (this.running) {
          this.o.logger.warn({ err, failures }, 'revocation feed: connection failed');
        }
      }
      if (!this.running) break;
      this.markLost();
      const wait = Math.min(this.o.maxBackoffMs ?? 5000, 250 * 2 ** Math.min(failures, 6));
      await this.sleep(wait);
    }
  }

  /** One connection: bind, catch up, then follow until the connection closes. */
  private async connectAndFollow(reconnect: boolean): Promise<void> {
    const url = new URL(this.o.amqpUrl!);
    if (!url.searchParams.has('heartbeat')) {
      url.searchParams.set('heartbeat', String(this.o.heartbeatSeconds ?? 5));
    }
    const conn = await amqp.connect(url.toString(), { timeout: 5000 });
    let isClosed = false;
    const closed = new Promise<void>((resolve) =>
      conn.once('close', () => {
        isClosed = true;
        resolve();
      }),
    );
    this.closeConn = async () => {
      if (isClosed) return;
      const timer = new Promise<void>((r) => setTimeout(r, 2000).unref());
      await Promise.race([conn.close().catch(() => undefined), timer]);
    };
    conn.on('error', (err) => {
      this.lastError = err?.message;
      this.o.logger.warn({ err }, 'revocation feed: RabbitMQ connection error');
    });
    try {
      if (reconnect) this.reconnects++;
      const channel = await conn.createChannel();
      channel.on('error', (err) => (this.lastError = err?.message));
      const exchange = this.o.exchange ?? 'auth.events';
      await channel.assertExchange(exchange, 'topic', { durable: true });
      const { queue } = await channel.assertQueue('', {
        exclusive: true,
        autoDelete: true,
        durable: false,
      });
      await channel.bindQueue(queue, exchange, REVOKED_ROUTING_KEY);
      await channel.consume(queue, (msg) => msg && this.onMessage(msg.content), { noAck: true });
      // Bound first, then caught up: nothing ended between the two is missed.
      this.state = 'catching-up';
      await this.catchUpUntilDone(closed);
      if (!this.running) return;
      this.state = 'live';
      this.lastError = undefined;
      this.lostAt = undefined;
      this.o.logger.info({ exchange, queue }, 'revocation feed: live');
      await closed;
      this.lastLiveAt = Date.now();
      if (this.running) this.o.logger.warn('revocation feed: connection closed');
    } finally {
      if (this.state === 'live') this.lastLiveAt = Date.now();
      const close = this.closeConn;
      this.closeConn = undefined;
      await close?.();
    }
  }

  private async catchUpUntilDone(closed: Promise<void>): Promise<void> {
    if (!this.o.catchUpUrl) return;
    let isClosed = false;
    void closed.then(() => (isClosed = true));
    for (let attempt = 0; this.running && !isClosed; attempt++) {
      try {
        await this.catchUp();
        return;
      } catch (err) {
        this.lastError = `catch-up failed: ${(err as Error)?.message ?? err}`;
        this.o.logger.warn({ err, attempt }, 'revocation feed: catch-up failed');
        await this.sleep(Math.min(this.o.maxBackoffMs ?? 5000, 250 * 2 ** Math.min(attempt, 6)));
      }
    }
    throw new Error('connection closed while catching up');
  }

  private async catchUp(): Promise<void> {
    const url = new URL(this.o.catchUpUrl!);
    // First start: everything auth still has (the window of one access-token lifetime).
    if (this.lastLiveAt !== undefined) {
      const since = this.lastLiveAt - (this.o.catchUpMarginMs ?? 30_000);
      url.searchParams.set('since', new Date(since).toISOString());
    }
    const res = await fetch(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) throw new Error(`${url.pathname} answered ${res.status}`);
    const body = (await res.json()) as RevocationList;
    for (const r of body.revocations ?? []) {
      if (typeof r.sid === 'string' && typeof r.exp === 'number') {
        this.denyList.add(r.sid, r.exp);
        this.received++;
      }
    }
  }

  private onMessage(content: Buffer): void {
    try {
      const event = JSON.parse(content.toString('utf8')) as RevocationEvent;
      if (!Array.isArray(event.session_ids) || typeof event.exp !== 'number') return;
      for (const sid of event.session_ids) {
        if (typeof sid === 'string') {
          this.denyList.add(sid, event.exp);
          this.received++;
        }
      }
    } catch (err) {
      this.o.logger.warn({ err }, 'revocation feed: unreadable message dropped');
    }
  }

  private markLost(): void {
    if (this.state === 'closed' || this.state === 'not-configured') return;
    if (this.lostAt === undefined) this.lostAt = Date.now();
    if (this.state === 'live' || this.state === 'catching-up') this.state = 'lost';
    else if (this.lastLiveAt !== undefined) this.state = 'lost';
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

/** The feed's variables, spread into the config schema of every service that verifies tokens. */
export const revocationFeedShape = {
  /**
   * RabbitMQ carrying auth's events; unset: no revocation feed (logged-out tokens stay valid
   * until they expire, readiness says so without failing).
   */
  AUTH_REVOCATIONS_AMQP_URL: z.string().url().optional(),
  /** The auth events exchange (topic) the `session.revoked` events go to. */
  AUTH_REVOCATIONS_EXCHANGE: z.string().min(1).default('auth.events'),
  /** Auth's catch-up endpoint; default `${AUTH_URL}/api/v1/auth/revocations`. */
  AUTH_REVOCATIONS_URL: z.string().url().optional(),
};

export interface RevocationFeedConfig {
  AUTH_REVOCATIONS_AMQP_URL?: string;
  AUTH_REVOCATIONS_EXCHANGE?: string;
  AUTH_REVOCATIONS_URL?: string;
  AUTH_URL?: string;
  AUTH_JWKS_URL?: string;
}

/**
 * The catch-up URL: AUTH_REVOCATIONS_URL, else derived from AUTH_URL, else from a JWKS URL of the
 * standard shape (`<auth>/.well-known/jwks.json`).
 */
export function revocationsUrlOf(config: RevocationFeedConfig): string | undefined {
  if (config.AUTH_REVOCATIONS_URL) return config.AUTH_REVOCATIONS_URL;
  if (config.AUTH_URL) return `${config.AUTH_URL.replace(/\/+$/, '')}/api/v1/auth/revocations`;
  const jwks = config.AUTH_JWKS_URL;
  if (jwks && /\/\.well-known\/jwks\.json$/.test(jwks)) {
    return jwks.replace(/\/\.well-known\/jwks\.json$/, '/api/v1/auth/revocations');
  }
  return undefined;
}

/**
 * The feed of a service, started, its shutdown hook registered: pass it to `createTokenVerifier`
 * (`revocations`) and its `check` to the readiness map.
 */
export function startRevocationFeed(
  config: RevocationFeedConfig,
  { logger, lifecycle }: { logger: Logger; lifecycle?: Lifecycle },
): RevocationFeed {
  const feed = new RevocationFeed({
    amqpUrl: config.AUTH_REVOCATIONS_AMQP_URL,
    exchange: config.AUTH_REVOCATIONS_EXCHANGE,
    catchUpUrl: revocationsUrlOf(config),
    logger,
  });
  feed.start();
  lifecycle?.onShutdown('revocation-feed', () => feed.close());
  return feed;
}
