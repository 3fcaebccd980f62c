import { disabledInstrumentations, INSTRUMENTATIONS } from '../src';

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
