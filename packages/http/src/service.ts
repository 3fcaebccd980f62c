/**
 * The start of every service, the same few lines in each `main.ts`:
 * config -> wiring -> listen -> shutdown hooks.
 *
 *   runService({ name: 'ugc-api', readConfig, wire, buildApp });
 *
 * `wire` builds every adapter and use case once, registering each adapter's shutdown hook on the
 * lifecycle it is given, and returns the one dependencies object `buildApp` serves.
 */
import type { Express } from 'express';
import { describeConfig, runMain } from '@cinema/config';
import { createLogger, type Logger } from '@cinema/logging';
import { shutdownTelemetry } from '@cinema/telemetry';
import { listen } from './app';
import { Lifecycle } from './lifecycle';

/** The variables `runService` itself reads (every service's config has them). */
export interface ServiceConfig {
  SERVICE_NAME: string;
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  SHUTDOWN_TIMEOUT_MS: number;
  PORT: number;
  HOST: string;
}

/** What `wire` gets: the parsed config, the logger and the lifecycle to register closers on. */
export interface ServiceRuntime<C> {
  config: C;
  logger: Logger;
  lifecycle: Lifecycle;
}

export interface ServiceDefinition<C extends ServiceConfig, D> {
  name: string;
  readConfig: () => C;
  wire: (runtime: ServiceRuntime<C>) => Promise<D>;
  buildApp: (dependencies: D) => Express;
  /** Runs after the server listens (e.g. a consumer loop that should start last). */
  started?: (dependencies: D) => Promise<void> | void;
}

export function runService<C extends ServiceConfig, D>(service: ServiceDefinition<C, D>): void {
  runMain(service.name, async () => {
    const config = service.readConfig();
    const logger = createLogger({ service: config.SERVICE_NAME, level: config.LOG_LEVEL });
    logger.info(
      { config: describeConfig(config as unknown as Record<string, unknown>) },
      'starting',
    );
    const lifecycle = new Lifecycle(logger, config.SHUTDOWN_TIMEOUT_MS);
    lifecycle.onShutdown('telemetry', shutdownTelemetry);
    lifecycle.handleSignals();
    try {
      const dependencies = await service.wire({ config, logger, lifecycle });
      await listen(service.buildApp(dependencies), {
        port: config.PORT,
        host: config.HOST,
        lifecycle,
        logger,
        name: service.name,
      });
      await service.started?.(dependencies);
    } catch (err) {
      // A SIGTERM during the start (a pod deleted right after it was created) closes the
      // connections the start is still using; that is the stop asked for, not a failed start:
      // the signal handler exits 0 once the shutdown is done.
      if (!lifecycle.stoppedBy) throw err;
      logger.info({ err }, 'start interrupted by the shutdown');
    }
  });
}
