/**
 * config -> wiring -> listen -> shutdown hooks; the ETL loop starts once the server listens
 * (Deployment). CronJob mode (`--once` or ETL_ONCE=true) is the one branch: it serves nothing
 * (runService always listens, and a CronJob's pod needs no port), so it runs config -> wiring ->
 * one catch-up -> shutdown hooks -> exit 0.
 */
import { describeConfig, runMain } from '@cinema/config';
import { Lifecycle, runService } from '@cinema/http';
import { createLogger } from '@cinema/logging';
import { shutdownTelemetry } from '@cinema/telemetry';
import { buildApp } from './app';
import { onceMode, readConfig } from './config';
import { wire } from './wiring';

async function once(): Promise<void> {
  const config = readConfig();
  const logger = createLogger({ service: config.SERVICE_NAME, level: config.LOG_LEVEL });
  logger.info({ config: describeConfig(config), once: true }, 'starting');
  const lifecycle = new Lifecycle(logger, config.SHUTDOWN_TIMEOUT_MS);
  lifecycle.onShutdown('telemetry', shutdownTelemetry);
  lifecycle.handleSignals();
  const deps = await wire({ config, logger, lifecycle });
  logger.info(await deps.runner.once(), 'caught up');
  await lifecycle.shutdown('done');
  process.exit(0);
}

if (onceMode()) runMain('catalog-etl', once);
else {
  runService({
    name: 'catalog-etl',
    readConfig,
    wire,
    buildApp,
    started: (deps) => deps.runner.start(),
  });
}
