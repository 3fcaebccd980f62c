import { channel } from 'node:diagnostics_channel';
import {
  disabledInstrumentations,
  INSTRUMENTATIONS,
  shutdownTelemetry,
  startTelemetry,
} from '../src';

describe('OTEL_NODE_DISABLED_INSTRUMENTATIONS', () => {
  it('is empty by default and takes the short names, spaces allowed', () => {
    expect([...disabledInstrumentations({})]).toEqual([]);
    expect([
      ...disabledInstrumentations({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: ' undici, mongodb ,' }),
    ]).toEqual(['undici', 'mongodb']);
    expect(INSTRUMENTATIONS).toContain('http');
    expect(INSTRUMENTATIONS).not.toContain('express');
  });

  it('refuses a name it does not know instead of tracing what the operator meant to turn off', () => {
    expect(() =>
      disabledInstrumentations({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http,expres' }),
    ).toThrow(/unknown expres .*known: http/);
  });
});

describe('shutdownTelemetry', () => {
  it('disables the instrumentations: nothing stays subscribed to Node diagnostics channels', async () => {
    const requests = channel('undici:request:create');
    startTelemetry({ serviceName: 'shutdown-test' });
    expect(requests.hasSubscribers).toBe(true);
    await shutdownTelemetry();
    // A later user of fetch in this process (e.g. @cinema/clients, which injects traceparent
    // itself when no fetch instrumentation listens) must not find a stopped SDK's subscriber.
    expect(requests.hasSubscribers).toBe(false);
  });
});
