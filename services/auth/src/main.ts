/** config -> wiring -> listen -> shutdown hooks */
import { describeConfig, runMain } from '@cinema/config';
import { Lifecycle, listen } from '@cinema/http';
import { createLogger } from '@cinema/logging';
import { shutdownTelemetry } from '@cinema/telemetry';
import { buildApp } from './app';
import { readConfig } from './config';
import { createComponents } from './wiring';

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger({ service: config.SERVICE_NAME, level: config.LOG_LEVEL });
  logger.info({ config: describeConfig(config) }, 'starting');
  const lifecycle = new Lifecycle(logger, config.SHUTDOWN_TIMEOUT_MS);
  lifecycle.onShutdown('telemetry', shutdownTelemetry);
  lifecycle.handleSignals();
  const c = await createComponents(config, logger);
  lifecycle.onShutdown('postgres', () => c.pool.end());
  lifecycle.onShutdown('redis', () => void c.redis.disconnect());
  lifecycle.onShutdown('outbox-publisher', () => c.publisher.stop());
  const app = buildApp({
    config,
    logger,
    lifecycle,
    readiness: c.readiness,
    auth: c.auth,
    keys: c.keys,
    google: c.google,
  });
  await listen(app, { port: config.PORT, host: config.HOST, lifecycle, logger, name: 'auth' });
}

runMain('auth', main);
