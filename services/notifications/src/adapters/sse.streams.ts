/**
 * Open Server-Sent Events streams: a heartbeat comment keeps proxies from timing them out, and
 * shutdown ends them all (the server's graceful close would otherwise wait for them).
 */
import type { Response } from 'express';

export class SseStreams {
  private readonly open = new Set<Response>();
  private readonly perKey = new Map<string, number>();
  private readonly heartbeat: NodeJS.Timeout;

  /** At most `maxPerKey` open streams per user (more tabs get a 429 from the caller). */
  constructor(
    heartbeatMs = 25_000,
    readonly maxPerKey = 10,
  ) {
    this.heartbeat = setInterval(() => {
      for (const res of this.open) res.write(': keep-alive\n\n');
    }, heartbeatMs);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.open.size;
  }

  /** Whether `key` (a user id) may open one more stream. */
  admits(key: string): boolean {
    return (this.perKey.get(key) ?? 0) < this.maxPerKey;
  }

  /** Starts an event stream on `res`; resolves when the client (or shutdown) ends it. */
  start(
    res: Response,
    onClose: () => void,
    key = '',
  ): { send: (id: string, event: string, data: unknown) => void; closed: Promise<void> } {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Connection', 'keep-alive');
    // nginx: do not buffer the stream.
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write('retry: 3000\n\n');
    this.open.add(res);
    this.perKey.set(key, (this.perKey.get(key) ?? 0) + 1);
    const closed = new Promise<void>((resolve) => {
      res.on('close', () => {
        this.open.delete(res);
        const left = (this.perKey.get(key) ?? 1) - 1;
        if (left > 0) this.perKey.set(key, left);
        else this.perKey.delete(key);
        onClose();
        resolve();
      });
    });
    return {
      // `data` is JSON (no raw newline can end the event early); the id is a number.
      send: (id, event, data) =>
        res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
      closed,
    };
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const res of this.open) res.end();
    this.open.clear();
  }
}
