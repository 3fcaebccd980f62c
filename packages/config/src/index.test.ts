import { ConfigError, baseShape, describeConfig, loadConfig, port, z } from './index';

const schema = z.object({
  ...baseShape,
  PORT: port(3000),
  DATABASE_URL: z.string().url(),
  API_TOKEN: z.string().min(8),
});

describe('loadConfig', () => {
  it('parses, applies defaults and freezes', () => {
    const config = loadConfig(schema, {
      DATABASE_URL: 'postgres://u:p@h/db',
      API_TOKEN: 'abcdefgh',
      PORT: '8080',
    });
    expect(config.PORT).toBe(8080);
    expect(config.LOG_LEVEL).toBe('info');
    expect(config.CORS_ORIGINS).toEqual([]);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.CORS_ORIGINS)).toBe(true);
  });

  it('lists every bad variable in one error and hides secret values', () => {
    let error: unknown;
    try {
      loadConfig(schema, { PORT: 'abc', LOG_LEVEL: 'loud', API_TOKEN: 'short' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'API_TOKEN',
      'DATABASE_URL',
      'LOG_LEVEL',
      'PORT',
    ]);
    expect((error as Error).message).toContain('DATABASE_URL: Required (not set)');
    expect((error as Error).message).not.toContain('short');
    expect((error as Error).message).toContain('API_TOKEN');
  });

  it('treats empty strings as unset', () => {
    expect(
      loadConfig(schema, { DATABASE_URL: 'postgres://h/db', API_TOKEN: 'abcdefgh', PORT: '' }).PORT,
    ).toBe(3000);
  });
});

describe('describeConfig', () => {
  it('hides secrets and URL credentials', () => {
    expect(
      describeConfig({ DATABASE_URL: 'postgres://user:pw@host/db', JWT_PRIVATE_KEY: 'x', PORT: 1 }),
    ).toEqual({
      DATABASE_URL: 'postgres://[hidden]@host/db',
      JWT_PRIVATE_KEY: '[hidden]',
      PORT: 1,
    });
  });
});
