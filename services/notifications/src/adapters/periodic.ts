/** Runs `work` every `everyMs` (never two at once); `stop()` ends the timer and awaits a run in hand. */
import type { Logger } from '@cinema/logging';

export interface Periodic {
  stop(): Promise<void>;
  /** Runs now (tests, after a change) unless a run is in hand. */
  kick(): Promise<void>;
}

export function startPeriodic(
  name: string,
  everyMs: number,
  work: () => Promise<unknown>,
  logger: Logger,
): Periodic {
  let running: Promise<void> | undefined;
  let stopped = false;
  const run = (): Promise<void> => {
    if (running || stopped) return running ?? Promise.resolve();
    running = work()
      .then(() => undefined)
      .catch((err: unknown) => logger.warn({ err, task: name }, `${name} failed; next run retries`))
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void run(), everyMs);
  timer.unref();
  return {
    kick: run,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
