/**
 * Each service's generated spec (services/<svc>/src/generated/swagger.json, written by
 * scripts/tsoa.mjs) is valid OpenAPI 3.0 by @seriousme/openapi-schema-validator (an ES module:
 * run in a child node), and tells the truth the way the pipeline answers: every error response
 * is application/problem+json with ProblemDetails, 429 and 503 document Retry-After; and every
 * operationId is unique (a rule the OpenAPI schema cannot express).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const services = readdirSync(path.join(ROOT, 'services')).filter((name) =>
  existsSync(path.join(ROOT, 'services', name, 'tsoa.json')),
);
const specOf = (name: string) => path.join(ROOT, 'services', name, 'src/generated/swagger.json');

const VALIDATE = `
const { Validator } = await import('@seriousme/openapi-schema-validator');
const out = {};
for (const file of process.argv.slice(1)) {
  const spec = JSON.parse((await import('node:fs')).readFileSync(file, 'utf8'));
  const validator = new Validator();
  const result = await validator.validate(spec);
  out[file] = { valid: result.valid, version: validator.version, errors: result.errors };
}
process.stdout.write(JSON.stringify(out));
`;

type Checked = Record<string, { valid: boolean; version: string; errors: unknown }>;
let checked: Checked = {};
beforeAll(() => {
  // One child validates every spec that exists (a missing one fails "is generated").
  const files = services.map(specOf).filter((file) => existsSync(file));
  checked = JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', VALIDATE, ...files], {
      cwd: ROOT,
      encoding: 'utf8',
    }),
  ) as Checked;
}, 60_000);

type Responses = Record<string, { content?: Record<string, unknown>; headers?: object }>;

describe.each(services)('%s spec', (name) => {
  it('is generated', () => {
    expect(existsSync(specOf(name))).toBe(true);
  });

  it('is valid OpenAPI 3.0', () => {
    const result = checked[specOf(name)];
    expect(result.errors ?? []).toEqual([]);
    expect(result).toMatchObject({ valid: true, version: '3.0' });
  });

  it('validates bodies without coercion (a "12" is not a number): bodyCoercion false', () => {
    const routes = readFileSync(
      path.join(ROOT, 'services', name, 'src/generated/routes.ts'),
      'utf8',
    );
    expect(routes).toMatch(/new ExpressTemplateService\(models, \{[^}]*"bodyCoercion":false/);
  });

  it('names every operation once (operationId is unique: generated clients name methods by it)', () => {
    const spec = JSON.parse(readFileSync(specOf(name), 'utf8')) as {
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    const ids = Object.values(spec.paths).flatMap((item) =>
      Object.values(item).flatMap((op) => (op.operationId ? [op.operationId] : [])),
    );
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('documents every error answer as problem+json, Retry-After on 429 and 503', () => {
    const spec = JSON.parse(readFileSync(specOf(name), 'utf8')) as {
      paths: Record<string, Record<string, { responses: Responses }>>;
    };
    const wrong: string[] = [];
    for (const [p, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) < 400) continue;
          const where = `${method.toUpperCase()} ${p} ${status}`;
          if (Object.keys(response.content ?? {}).join() !== 'application/problem+json')
            wrong.push(`${where}: ${Object.keys(response.content ?? {}).join() || 'no content'}`);
          if (
            (status === '429' || status === '503') &&
            !('Retry-After' in (response.headers ?? {}))
          )
            wrong.push(`${where}: no Retry-After`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
