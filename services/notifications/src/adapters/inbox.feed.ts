/**
 * Live inbox items: one PostgreSQL connection LISTENs on `"<schema>.inbox"` (a trigger notifies
 * after each insert commits, on whichever replica wrote it) and hands each new item to the open
 * streams of its owner in this process. Reconnects with backoff; a stream that missed items
 * while the listener was down gets them on its next resume (Last-Event-ID).
 */
import type { Logger } from '@cinema/logging';
import { Client } from 'pg';
import type { InboxFeed, InboxItem } from '../domain/model';
import type { PgInboxRepository } from './inbox.repository';

export class PgInboxFeed implements InboxFeed {
  private readonly listeners = new Map<string, Set<(item: InboxItem) => void>>();
  private client?: Client;
  private closing = false;
  private failures = 0;
  private timer?: NodeJS.Timeout;
  listening = false;

  constructor(
    private readonly o: {
      url: string;
      schema: string;
      items: PgInboxRepository;
      logger: Logger;
    },
  ) {}

  get channel(): string {
    return `${this.o.schema}.inbox`;
  }

  async start(): Promise<void> {
    const client = new Client({ connectionString: this.o.url });
    client.on('error', (err) => this.o.logger.warn({ err }, 'inbox feed: connection error'));
    client.on('end', () => {
      this.listening = false;
      if (!this.closing) this.restartLater();
    });
    client.on('notification', (n) => {
      if (n.channel !== this.channel || !n.payload) return;
      void this.dispatch(n.payload);
    });
    await client.connect();
    await client.query(`LISTEN "${this.channel.replace(/"/g, '')}"`);
    this.client = client;
    this.listening = true;
    this.failures = 0;
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    await this.client?.end().catch(() => undefined);
  }

  subscribe(userId: string, listener: (item: InboxItem) => void): () => void {
    let set = this.listeners.get(userId);
    if (!set) this.listeners.set(userId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (!set.size) this.listeners.delete(userId);
    };
  }

  /** Open streams (metrics, tests). */
  get streams(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  private async dispatch(payload: string): Promise<void> {
    try {
      const { user_id: userId, id } = JSON.parse(payload) as { user_id: string; id: number };
      const set = this.listeners.get(userId);
      if (!set?.size) return;
      const item = await this.o.items.byId(userId, String(id));
      if (!item) return;
      for (const listener of [...set]) listener(item);
    } catch (err) {
      this.o.logger.warn({ err }, 'inbox feed: dispatch failed');
    }
  }

  private restartLater(): void {
    const wait = Math.min(30_000, 250 * 2 ** Math.min(this.failures++, 7));
    this.timer = setTimeout(() => {
      this.start().catch((err: unknown) => {
        this.o.logger.warn({ err }, 'inbox feed: reconnect failed');
        if (!this.closing) this.restartLater();
      });
    }, wait);
    this.timer.unref();
  }
}
