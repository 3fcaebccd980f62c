import { Writable } from 'node:stream';
import { censorSecrets, createLogger, requestContext, setSpanContextReader } from './index';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  afterEach(() => setSpanContextReader());

  it('writes ECS JSON with service name, level and message', () => {
    const { lines, stream } = capture();
    createLogger({ service: 'svc-a', destination: stream }).info({ films: 3 }, 'loaded');
    expect(lines[0]).toMatchObject({
      'log.level': 'info',
      message: 'loaded',
      films: 3,
      'service.name': 'svc-a',
      'ecs.version': expect.any(String),
    });
    expect(typeof lines[0]!['@timestamp']).toBe('string');
  });

  it('redacts secrets in headers and nested fields', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ service: 's', destination: stream });
    logger.info({
      req: {
        method: 'GET',
        url: '/',
        headers: { authorization: 'Bearer abc.def.ghi', cookie: 'sid=1', host: 'h' },
      },
      body: { email: 'a@b.c', password: 'hunter2', nested: { refreshToken: 'rt-1' } },
      token: 'top',
    });
    const text = JSON.stringify(lines[0]);
    for (const secret of ['abc.def.ghi', 'sid=1', 'hunter2', 'rt-1', '"top"'])
      expect(text).not.toContain(secret);
    expect(text).toContain('a@b.c');
    expect(text).toContain('[redacted]');
  });

  it('redacts secret-named keys at any depth, in any letter case, in arrays and errors', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ service: 's', destination: stream });
    const err = Object.assign(new Error('refused'), { accessToken: 'at-err', code: 'E1' });
    const logged = {
      a: { b: { c: { d: { clientSecret: 'deep-secret', keep: 'visible' } } } },
      headers: { Authorization: 'Basic dXNlcjpwYXNz', 'X-Api-Key': 'key-1', 'set-cookie': ['s=2'] },
      list: [{ token: 'in-array' }, 'plain'],
      err,
    };
    logger.error(logged, 'failed');
    const text = JSON.stringify(lines[0]);
    for (const secret of ['deep-secret', 'dXNlcjpwYXNz', 'key-1', 's=2', 'in-array', 'at-err'])
      expect(text).not.toContain(secret);
    expect(text).toContain('visible');
    expect(text).toContain('plain');
    // The error is still logged as one (ECS error fields), its other fields kept.
    expect(lines[0]).toMatchObject({ error: { type: 'Error', message: 'refused' } });
    // The caller's objects are not changed.
    expect(logged.a.b.c.d.clientSecret).toBe('deep-secret');
    expect(logged.headers.Authorization).toBe('Basic dXNlcjpwYXNz');
    expect(err.accessToken).toBe('at-err');
    expect((logged.list[0] as { token: string }).token).toBe('in-array');
  });

  it('censorSecrets returns objects without secrets as they are and survives cycles', () => {
    const clean = { a: { b: [1, 2, { c: 'x' }] }, when: new Date(0), raw: Buffer.from('password') };
    expect(censorSecrets(clean)).toBe(clean);
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    expect(() => censorSecrets(loop)).not.toThrow();
    expect(censorSecrets({ password: 'p' })).toEqual({ password: '[redacted]' });
    // Below the depth limit nothing is logged, so no secret down there passes unchecked.
    let deep: Record<string, unknown> = { password: 'deepest-secret' };
    for (let i = 0; i < 12; i++) deep = { level: deep };
    expect(JSON.stringify(censorSecrets(deep))).not.toContain('deepest-secret');
  });

  it('adds the request id and the active trace ids', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ service: 's', destination: stream });
    setSpanContextReader(() => ({ traceId: 't'.repeat(32), spanId: 's'.repeat(16) }));
    requestContext.run({ requestId: 'req-42' }, () => logger.warn('inside'));
    expect(lines[0]).toMatchObject({
      'http.request.id': 'req-42',
      'trace.id': 't'.repeat(32),
      'span.id': 's'.repeat(16),
    });
  });

  it('logs errors under err as ECS error fields', () => {
    const { lines, stream } = capture();
    createLogger({ service: 's', destination: stream }).error(
      { err: new TypeError('boom') },
      'failed',
    );
    expect(lines[0]).toMatchObject({ error: { type: 'TypeError', message: 'boom' } });
  });
});
