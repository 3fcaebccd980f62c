/** config -> wiring -> listen -> shutdown hooks */
import { createTokenVerifier } from '@cinema/auth';
import { describeConfig, runMain } from '@cinema/config';
import { Lifecycle, listen } from '@cinema/http';
import { createLogger } from '@cinema/logging';
import { createPool, ping } from '@cinema/pg';
import { shutdownTelemetry } from '@cinema/telemetry';
import { createAuthClient } from './adapters/auth.client';
import { CatalogRepository } from './adapters/catalog.repository';
import { buildApp } from './app';
import { jwksUrl, readConfig } from './config';
import { migrateContent } from './schema';

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger({ service: config.SERVICE_NAME, level: config.LOG_LEVEL });
  logger.info({ config: describeConfig(config) }, 'starting');
  const lifecycle = new Lifecycle(logger, config.SHUTDOWN_TIMEOUT_MS);
  lifecycle.onShutdown('telemetry', shutdownTelemetry);
  lifecycle.handleSignals();

  const pool = createPool(config.DATABASE_URL);
  pool.on('error', (err) => logger.warn({ err }, 'idle PostgreSQL connection failed'));
  lifecycle.onShutdown('postgres', () => pool.end());
  if (config.MIGRATE_ON_START) {
    const { applied } = await migrateContent(pool, (m) => logger.info(m));
    logger.info({ applied }, 'content schema up to date');
  }

  const app = buildApp({
    config,
    logger,
    lifecycle,
    readiness: { postgres: () => ping(pool) },
    catalog: new CatalogRepository(pool),
    verifier: createTokenVerifier({
      jwksUrl: jwksUrl(config),
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
    }),
    auth: createAuthClient(config.AUTH_URL),
  });
  await listen(app, {
    port: config.PORT,
    host: config.HOST,
    lifecycle,
    logger,
    name: 'catalog-admin',
  });
}

runMain('catalog-admin', main);
