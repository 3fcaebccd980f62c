/** config -> wiring -> listen -> shutdown hooks */
import { createTokenVerifier } from '@cinema/auth';
import { describeConfig, runMain } from '@cinema/config';
import { Lifecycle, listen } from '@cinema/http';
import { createLogger } from '@cinema/logging';
import { shutdownTelemetry } from '@cinema/telemetry';
import { buildApp } from './app';
import { jwksUrl, readConfig } from './config';
import { createPipeline } from './pipeline';

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger({ service: config.SERVICE_NAME, level: config.LOG_LEVEL });
  logger.info({ config: describeConfig(config) }, 'starting');
  const lifecycle = new Lifecycle(logger, config.SHUTDOWN_TIMEOUT_MS);
  lifecycle.onShutdown('telemetry', shutdownTelemetry);
  lifecycle.handleSignals();

  const pipeline = await createPipeline(config, logger);
  lifecycle.onShutdown('pipeline', () => pipeline.stop());
  void pipeline.start().catch((err: unknown) => {
    logger.fatal({ err }, 'the loader could not start');
    void lifecycle.shutdown('loader failed').then(() => process.exit(1));
  });

  const jwks = jwksUrl(config);
  if (!jwks) logger.warn('no AUTH_JWKS_URL or AUTH_URL: the analytics API answers 401');
  const app = buildApp({
    config,
    logger,
    lifecycle,
    analytics: pipeline.analytics,
    verifier: jwks
      ? createTokenVerifier({
          jwksUrl: jwks,
          issuer: config.JWT_ISSUER,
          audience: config.JWT_AUDIENCE,
        })
      : undefined,
    readiness: {
      kafka: () => pipeline.loader.check(),
      clickhouse: async () => {
        if (!(await pipeline.ch.ping()).success) throw new Error('clickhouse ping failed');
      },
    },
  });
  await listen(app, { port: config.PORT, host: config.HOST, lifecycle, logger, name: 'ugc-etl' });
}

runMain('ugc-etl', main);
