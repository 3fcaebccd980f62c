/**
 * Start and graceful stop of a service: on SIGTERM/SIGINT stop accepting, let in-flight requests
 * finish, then close the adapters in the reverse order of their registration, all bounded by a
 * timeout.
 */
import type { Server } from 'node:http';
import type { Logger } from '@cinema/logging';

export type Closer = () => Promise<void> | void;

export class Lifecycle {
  private readonly closers: Array<{ name: string; close: Closer }> = [];
  private stopping?: Promise<void>;
  /** True once shutdown began: readiness then answers 503 so load balancers drain the pod. */
  shuttingDown = false;

  constructor(
    private readonly logger: Logger,
    private readonly timeoutMs = 10_000,
  ) {}

  /** The signal that asked this process to stop, once one did. */
  stoppedBy?: NodeJS.Signals;

  /** Each adapter registers its own shutdown hook; they run last-registered first. */
  onShutdown(name: string, close: Closer): void {
    this.closers.push({ name, close });
  }

  async shutdown(reason: string): Promise<void> {
    if (this.stopping) return this.stopping;
    this.shuttingDown = true;
    this.logger.info({ reason }, 'shutting down');
    const work = (async () => {
      for (const { name, close } of [...this.closers].reverse()) {
        try {
          await close();
          this.logger.debug({ adapter: name }, 'closed');
        } catch (err) {
          this.logger.error({ err, adapter: name }, 'close failed');
        }
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.logger.warn({ timeoutMs: this.timeoutMs }, 'shutdown timed out');
        resolve();
      }, this.timeoutMs);
      timer.unref();
    });
    this.stopping = Promise.race([work, timeout]).finally(() => clearTimeout(timer));
    return this.stopping;
  }

  /**
   * A part the service cannot run without stopped for good (a consumer that will not restart):
   * logs it, drains like a shutdown, then exits 1 so the platform (Kubernetes, the stack's
   * supervisor) starts a fresh process instead of leaving one that never gets ready.
   */
  fail(
    reason: string,
    err: unknown,
    exit: (code: number) => void = (code) => process.exit(code),
  ): void {
    this.logger.error({ err, reason }, 'stopping: a part of the service stopped for good');
    void this.shutdown(reason).then(
      () => exit(1),
      () => exit(1),
    );
  }

  /** Runs shutdown on SIGTERM and SIGINT, then exits. */
  handleSignals(exit: (code: number) => void = (code) => process.exit(code)): void {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        this.stoppedBy ??= signal;
        void this.shutdown(signal).then(
          () => exit(0),
          () => exit(1),
        );
      });
    }
  }
}

/**
 * The HTTP server's close. Register it after the adapters (it is created last), so that it runs
 * first: no new requests, in-flight ones finish, then the adapters close.
 */
export function closeServerGracefully(server: Server): Closer {
  return () =>
    new Promise<void>((resolve) => {
      // Stop accepting. Keep-alive sockets are closed as soon as they fall idle, so a busy one
      // finishes its answer first; the lifecycle's timeout bounds the wait.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      server.close(() => {
        clearInterval(sweep);
        resolve();
      });
      server.closeIdleConnections();
    });
}
