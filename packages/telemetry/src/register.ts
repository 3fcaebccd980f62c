/**
 * Preload entry: `node --require @cinema/telemetry/register dist/main.js`. Starts tracing
 * before any instrumented module (http, pg, ...) is loaded. A bad OTEL_* setting stops the
 * process as a bad service setting does: one JSON line on stderr, exit 78 (EX_CONFIG).
 */
import { disabledInstrumentations, optionsFromEnv, startTelemetry } from './index';

if (process.env.OTEL_SDK_DISABLED !== 'true') {
  try {
    disabledInstrumentations();
  } catch (err) {
    process.stderr.write(
      `${JSON.stringify({ 'log.level': 'fatal', message: (err as Error).message })}\n`,
    );
    process.exit(78);
  }
  startTelemetry(optionsFromEnv());
}
