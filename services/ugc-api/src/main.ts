/** config -> wiring -> listen -> shutdown hooks */
import { createTokenVerifier } from '@cinema/auth';
import { describeConfig, runMain } from '@cinema/config';
import { Lifecycle, listen } from '@cinema/http';
import { createLogger } from '@cinema/logging';
import { shutdownTelemetry } from '@cinema/telemetry';
import { connectMongo } from './adapters/mongo';
import { buildApp } from './app';
import { readConfig } from './config';
import { wireServices } from './wiring';

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger({ service: config.SERVICE_NAME, level: config.LOG_LEVEL });
  logger.info({ config: describeConfig(config) }, 'starting');
  const lifecycle = new Lifecycle(logger, config.SHUTDOWN_TIMEOUT_MS);
  lifecycle.onShutdown('telemetry', shutdownTelemetry);
  lifecycle.handleSignals();

  const { client, db } = await connectMongo(config.MONGODB_URL, config.MONGODB_DB);
  lifecycle.onShutdown('mongodb', () => client.close());
  const services = await wireServices(db, {
    lockLeaseMs: config.LOCK_LEASE_MS,
    lockWaitMs: config.LOCK_WAIT_MS,
    logger,
  });
  const verifier = createTokenVerifier({
    jwksUrl: config.AUTH_JWKS_URL,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  });
  const app = buildApp({
    config,
    logger,
    lifecycle,
    services,
    verifier,
    readiness: { mongodb: () => db.command({ ping: 1 }) },
  });
  await listen(app, { port: config.PORT, host: config.HOST, lifecycle, logger, name: 'ugc-api' });
}

runMain('ugc-api', main);
