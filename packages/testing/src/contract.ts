/**
 * A contract driver: every operation of a service's OpenAPI document is sent valid and invalid
 * requests generated from the document (a valid one, no token, a token without the route's
 * role, malformed JSON, a body without a required field, with an unknown field, with a field of
 * the wrong type, a body that is not JSON, a malformed path parameter, a query parameter of the
 * wrong type), and each answer is checked against the document: the status is documented, the
 * content type is one the response documents, the body matches its schema
 * (openapi-response-validator, ajv), documented headers have the documented types. Invalid requests must also be
 * refused (a 4xx), requests without a token must get 401 and requests without the role 403.
 */
import { randomUUID } from 'node:crypto';
import OpenAPIResponseValidator from 'openapi-response-validator';

type Schema = Record<string, unknown> & {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  additionalProperties?: boolean | Schema;
};
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}
interface Response {
  description: string;
  content?: Record<string, { schema?: Schema }>;
  headers?: Record<string, { schema?: Schema }>;
}
interface Operation {
  operationId?: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema?: Schema }> };
  responses: Record<string, Response>;
  security?: Array<Record<string, string[]>>;
}
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
  security?: Array<Record<string, string[]>>;
}

export interface ContractTarget {
  spec: object;
  /** Where the service listens, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** An access token the service accepts, carrying these roles. */
  token?: (roles: string[]) => Promise<string>;
  /** Values for path and query parameters by name (a seeded film's id, ...), or by `operationId.name`. */
  values?: Record<string, unknown>;
  /** Valid bodies by operationId, where the one generated from the schema cannot do. */
  bodies?: Record<string, unknown | (() => unknown | Promise<unknown>)>;
  /** Operations not driven (operationId), each with the reason, e.g. one that ends the process. */
  skip?: Record<string, string>;
  /** Roles a token gets on routes that name none. */
  defaultRoles?: string[];
}

export interface Violation {
  operation: string;
  case: string;
  status: number;
  problem: string;
}

export interface ContractReport {
  /** Requests sent. */
  exchanges: number;
  /** Operations driven. */
  operations: number;
  violations: Violation[];
  /** Status codes seen per operation, e.g. `{ 'GET /x': [200, 401, 422] }`. */
  seen: Record<string, number[]>;
}

interface Case {
  name: string;
  /** What the answer must be beyond matching the document. */
  expect?: '4xx' | 401 | 403;
  path: Record<string, unknown>;
  query: Record<string, unknown>;
  headers: Record<string, string>;
  body?: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** Drives every operation of the document against the running service. */
export async function driveContract(target: ContractTarget): Promise<ContractReport> {
  const spec = target.spec as OpenApiDocument;
  // One validator per operation (openapi-response-validator, ajv): status and body schema.
  const validators = new Map<Operation, OpenAPIResponseValidator>();
  const validatorOf = (op: Operation) => {
    let v = validators.get(op);
    if (!v) {
      v = new OpenAPIResponseValidator({
        responses: op.responses as never,
        components: spec.components as never,
      });
      validators.set(op, v);
    }
    return v;
  };

  const report: ContractReport = { exchanges: 0, operations: 0, violations: [], seen: {} };
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const id = op.operationId ?? `${method} ${path}`;
      if (target.skip?.[id] !== undefined) continue;
      report.operations += 1;
      const label = `${method.toUpperCase()} ${path}`;
      for (const c of await casesOf(spec, op, id, target)) {
        const answer = await send(target.baseUrl, method, path, c);
        report.exchanges += 1;
        const seen = (report.seen[label] ??= []);
        if (!seen.includes(answer.status)) seen.push(answer.status);
        for (const problem of check(validatorOf(op), op, c, answer))
          report.violations.push({
            operation: label,
            case: c.name,
            status: answer.status,
            problem,
          });
      }
    }
  }
  for (const statuses of Object.values(report.seen)) statuses.sort((a, b) => a - b);
  return report;
}

/** Serves an Express-like app on a free loopback port for the driver; `close` stops it. */
export async function serveForContract(app: {
  listen(port: number, host: string, cb: () => void): import('node:http').Server;
}): Promise<{ baseUrl: string; close(): Promise<void> }> {
  let server!: import('node:http').Server;
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as import('node:net').AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One line per violation, for a failing assertion's message. */
export function describeViolations(violations: Violation[]): string {
  return violations
    .map((v) => `${v.operation} [${v.case}] -> ${v.status}: ${v.problem}`)
    .join('\n');
}

async function casesOf(
  spec: OpenApiDocument,
  op: Operation,
  id: string,
  target: ContractTarget,
): Promise<Case[]> {
  const params = op.parameters ?? [];
  const valueOf = (p: Parameter) =>
    target.values?.[`${id}.${p.name}`] ?? target.values?.[p.name] ?? sample(spec, p.schema ?? {});
  const path = Object.fromEntries(
    params.filter((p) => p.in === 'path').map((p) => [p.name, valueOf(p)]),
  );
  const query = Object.fromEntries(
    params
      .filter(
        (p) => p.in === 'query' && (p.required || target.values?.[`${id}.${p.name}`] !== undefined),
      )
      .map((p) => [p.name, valueOf(p)]),
  );
  const security = op.security ?? spec.security ?? [];
  const secured = security.length > 0 && security.every((r) => Object.keys(r).length > 0);
  const roles = [...new Set(security.flatMap((r) => Object.values(r).flat()))];
  const headers: Record<string, string> = Object.fromEntries(
    params
      .filter(
        (p) =>
          p.in === 'header' &&
          (p.required ||
            (target.values?.[`${id}.${p.name}`] ?? target.values?.[p.name]) !== undefined),
      )
      .map((p) => [p.name.toLowerCase(), String(valueOf(p))]),
  );
  if (secured && target.token) {
    headers.authorization = `Bearer ${await target.token(roles.length ? roles : (target.defaultRoles ?? ['public_user']))}`;
  }
  const bodyType = Object.keys(op.requestBody?.content ?? {})[0];
  const bodySchema = bodyType ? op.requestBody!.content[bodyType].schema : undefined;
  const given = target.bodies?.[id];
  const body =
    given !== undefined
      ? typeof given === 'function'
        ? await (given as () => unknown)()
        : given
      : bodySchema
        ? sample(spec, bodySchema)
        : undefined;
  if (bodyType) headers['content-type'] = bodyType;
  const json = bodyType ? JSON.stringify(body) : undefined;
  const base = (): Case => ({
    name: 'valid',
    path: { ...path },
    query: { ...query },
    headers: { ...headers },
    body: json,
  });

  const cases: Case[] = [];
  if (secured) {
    const noToken = base();
    delete noToken.headers.authorization;
    cases.push({ ...noToken, name: 'no token', expect: 401 });
    const garbage = base();
    garbage.headers.authorization = 'Bearer not.a.token';
    cases.push({ ...garbage, name: 'bad token', expect: 401 });
    if (roles.length && !roles.includes('public_user') && target.token) {
      const weak = base();
      weak.headers.authorization = `Bearer ${await target.token(['public_user'])}`;
      cases.push({ ...weak, name: 'without the role', expect: 403 });
    }
  }
  if (bodyType && /json$/.test(bodyType)) {
    cases.push({ ...base(), name: 'malformed JSON', body: '{"a":', expect: '4xx' });
    if (op.requestBody?.required)
      cases.push({
        ...base(),
        name: 'not JSON',
        headers: { ...headers, 'content-type': 'text/plain' },
        body: 'hello',
        // Not required to be refused yet: express.json skips other media types, so a body whose
        // fields are all optional is taken as empty (no 415 from createApp so far).
      });
    const shape = resolve(spec, bodySchema ?? {});
    if (body && typeof body === 'object' && !Array.isArray(body)) {
      const required = shape.required ?? [];
      if (required.length) {
        const missing = { ...(body as Record<string, unknown>) };
        delete missing[required[0]];
        cases.push({
          ...base(),
          name: `without ${required[0]}`,
          body: JSON.stringify(missing),
          expect: '4xx',
        });
      }
      if (shape.additionalProperties === undefined || shape.additionalProperties === false) {
        cases.push({
          ...base(),
          name: 'with an unknown field',
          body: JSON.stringify({ ...(body as object), notInTheSchema: 1 }),
          expect: '4xx',
        });
      }
      const [field, fieldSchema] = Object.entries(shape.properties ?? {})[0] ?? [];
      if (field && fieldSchema) {
        cases.push({
          ...base(),
          name: `${field} of the wrong type`,
          body: JSON.stringify({ ...(body as object), [field]: wrongType(spec, fieldSchema) }),
          expect: '4xx',
        });
      }
    }
  }
  for (const p of params) {
    const s = resolve(spec, p.schema ?? {});
    const strict = s.type === 'integer' || s.type === 'number' || s.pattern || s.format || s.enum;
    if (!strict || (p.in !== 'path' && p.in !== 'query')) continue;
    const bad = base();
    if (p.in === 'path') bad.path[p.name] = 'not-valid~';
    else bad.query[p.name] = 'not-valid~';
    cases.push({ ...bad, name: `${p.in} ${p.name} malformed`, expect: '4xx' });
  }
  cases.push(base());
  return cases;
}

interface Answer {
  status: number;
  contentType: string;
  headers: Record<string, string>;
  text: string;
}

async function send(baseUrl: string, method: string, template: string, c: Case): Promise<Answer> {
  const path = template.replace(/\{([^}]+)\}/g, (_, name: string) =>
    encodeURIComponent(String(c.path[name])),
  );
  const url = new URL(path, baseUrl);
  for (const [k, v] of Object.entries(c.query)) {
    for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(item));
  }
  const res = await fetch(url, {
    method: method.toUpperCase(),
    headers: c.headers,
    body: c.body,
    redirect: 'manual',
    signal: AbortSignal.timeout(15_000),
  });
  const streamed = /^text\/event-stream/.test(res.headers.get('content-type') ?? '');
  // A stream (server-sent events) never ends: its status and media type are what is checked.
  const text = streamed ? (await res.body?.cancel(), '') : await res.text();
  return {
    status: res.status,
    contentType: (res.headers.get('content-type') ?? '').split(';')[0].trim(),
    headers: Object.fromEntries(res.headers.entries()),
    text,
  };
}

function check(
  validator: OpenAPIResponseValidator,
  op: Operation,
  c: Case,
  answer: Answer,
): string[] {
  const problems: string[] = [];
  const documented =
    op.responses[String(answer.status)] ??
    op.responses[`${Math.floor(answer.status / 100)}XX`] ??
    op.responses.default;
  if (answer.status >= 500 && !op.responses[String(answer.status)])
    problems.push(`server error: ${answer.text.slice(0, 300)}`);
  if (c.expect === '4xx' && (answer.status < 400 || answer.status >= 500))
    problems.push(`an invalid request was not refused (${c.name})`);
  if (typeof c.expect === 'number' && answer.status !== c.expect)
    problems.push(`expected ${c.expect}`);
  if (!documented) {
    problems.push(
      `status ${answer.status} is not documented (${answer.contentType}: ${answer.text.slice(0, 200)})`,
    );
    return problems;
  }
  const types = Object.keys(documented.content ?? {});
  if (!types.length) {
    if (answer.text.length)
      problems.push(`a body where none is documented: ${answer.text.slice(0, 200)}`);
  } else if (!types.includes(answer.contentType)) {
    problems.push(
      `content type ${answer.contentType || '(none)'}, documented: ${types.join(', ')}`,
    );
  } else if (/json$/.test(answer.contentType)) {
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      problems.push(`the body is not JSON: ${answer.text.slice(0, 200)}`);
    }
    if (body !== undefined) {
      const result = validator.validateResponse(answer.status, body);
      if (result)
        problems.push(`body: ${JSON.stringify(result.errors)} in ${answer.text.slice(0, 300)}`);
    }
  }
  // Documented headers, when sent, have the documented type (Retry-After: whole seconds).
  for (const [name, header] of Object.entries(documented.headers ?? {})) {
    const value = answer.headers[name.toLowerCase()];
    if (value === undefined) continue;
    const type = header.schema?.type;
    if (
      (type === 'integer' && !/^\d+$/.test(value)) ||
      (type === 'number' && Number.isNaN(Number(value)))
    )
      problems.push(`header ${name}: ${value} is not of type ${type}`);
  }
  return problems;
}

function resolve(spec: OpenApiDocument, schema: Schema): Schema {
  let s = schema;
  for (let i = 0; s.$ref && i < 20; i++) {
    s = spec.components?.schemas?.[s.$ref.replace('#/components/schemas/', '')] ?? {};
  }
  if (s.allOf?.length === 1) {
    const { allOf, ...rest } = s;
    return { ...resolve(spec, allOf[0]), ...rest };
  }
  if (s.allOf) {
    const parts = s.allOf.map((p) => resolve(spec, p));
    return {
      ...s,
      type: 'object',
      properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})),
      required: parts.flatMap((p) => p.required ?? []),
    };
  }
  return s;
}

// Strings that fit the patterns the specs use; the first that fits a pattern is taken.
const CANDIDATES = [
  () => randomUUID(),
  () => '0123456789abcdef01234567',
  () => '12:30',
  () => '720p',
  () => '1',
  () => `u_${randomUUID().slice(0, 8)}@example.test`,
  () => `n${randomUUID().slice(0, 8).replace(/-/g, '')}`,
  () => 'contract test text',
];

/** A minimal value that fits the schema: defaults and examples first, required fields only. */
export function sample(spec: OpenApiDocument, schema: Schema): unknown {
  const s = resolve(spec, schema);
  if (s.default !== undefined) return s.default;
  if (s.example !== undefined) return s.example;
  if (s.enum?.length) return s.enum[0];
  if (s.anyOf?.length) return sample(spec, s.anyOf[0]);
  if (s.oneOf?.length) return sample(spec, s.oneOf[0]);
  switch (s.type) {
    case 'integer':
    case 'number': {
      const min = typeof s.minimum === 'number' ? s.minimum : 1;
      return typeof s.maximum === 'number' ? Math.min(min, s.maximum) : min;
    }
    case 'boolean':
      return true;
    case 'array':
      return Array.from({ length: typeof s.minItems === 'number' ? s.minItems : 1 }, () =>
        sample(spec, s.items ?? {}),
      );
    case 'object':
    case undefined: {
      if (!s.properties && s.type === undefined) return 'x';
      return Object.fromEntries(
        (s.required ?? []).map((name) => [name, sample(spec, s.properties?.[name] ?? {})]),
      );
    }
    case 'string': {
      if (s.format === 'date-time') return new Date().toISOString();
      if (s.format === 'date') return new Date().toISOString().slice(0, 10);
      if (s.format === 'uuid') return randomUUID();
      if (s.format === 'email') return `u_${randomUUID().slice(0, 8)}@example.test`;
      const min = typeof s.minLength === 'number' ? s.minLength : 0;
      const max = typeof s.maxLength === 'number' ? s.maxLength : Infinity;
      const pattern = typeof s.pattern === 'string' ? new RegExp(s.pattern, 'u') : undefined;
      for (const candidate of CANDIDATES) {
        const value = candidate();
        if ((!pattern || pattern.test(value)) && value.length >= min && value.length <= max)
          return value;
      }
      return 'x'.repeat(Math.max(1, min));
    }
    default:
      return null;
  }
}

function wrongType(spec: OpenApiDocument, schema: Schema): unknown {
  const s = resolve(spec, schema);
  // An object for a string: tsoa's body coercion (on unless `bodyCoercion: false`) turns a
  // number into a string, so a number would be accepted where the schema says string.
  return s.type === 'string'
    ? { not: 'a string' }
    : s.type === 'array'
      ? 'not an array'
      : 'not a number';
}
