/**
 * Preload entry: `node --require @cinema/telemetry/register dist/main.js`. Starts tracing
 * before any instrumented module (http, express, pg, ...) is loaded.
 */
import { optionsFromEnv, startTelemetry } from './index';

if (process.env.OTEL_SDK_DISABLED !== 'true') startTelemetry(optionsFromEnv());
