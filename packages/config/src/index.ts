/**
 * Configuration from the environment, parsed once at start with a zod schema.
 * Every bad variable is listed in one error; the result is typed and deeply frozen.
 */
import { z } from 'zod';

export { z };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/** Parses `env` with `schema` (an object schema keyed by variable name). */
export function loadConfig<S extends z.ZodObject<z.ZodRawShape>>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): Readonly<z.infer<S>> {
  // Empty strings count as unset, so `FOO=` falls back to the default.
  const input = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path.join('.') || '(root)';
      const raw = input[String(issue.path[0])];
      const shown =
        raw === undefined ? 'not set' : isSecretName(key) ? 'set (hidden)' : JSON.stringify(raw);
      return `${key}: ${issue.message} (${shown})`;
    });
    throw new ConfigError(problems);
  }
  return deepFreeze(parsed.data);
}

/** Names that must never be printed: passwords, secrets, tokens, keys, URLs with credentials. */
export function isSecretName(name: string): boolean {
  return /pass|secret|token|private|key|credential/i.test(name);
}

/** A printable copy of a config: secrets hidden, credentials stripped from URLs. */
export function describeConfig(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => {
      if (isSecretName(k)) return [k, v === undefined ? undefined : '[hidden]'];
      if (typeof v === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(v)) {
        return [k, v.replace(/\/\/[^/@]*@/, '//[hidden]@')];
      }
      return [k, v];
    }),
  );
}

/* Reusable field schemas. */
export const port = (fallback: number) =>
  z.coerce.number().int().min(0).max(65535).default(fallback);
export const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
export const list = (fallback: string[] = []) =>
  z
    .string()
    .default(fallback.join(','))
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
export const url = () => z.string().url();
export const duration = (fallbackMs: number) =>
  z.coerce.number().int().positive().default(fallbackMs);

/** Variables every service reads; services extend this shape with their own. */
export const baseShape = {
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  CORS_ORIGINS: list(),
  BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'a size such as 100kb or 1mb')
    .default('100kb'),
  SHUTDOWN_TIMEOUT_MS: duration(10_000),
};

export const baseSchema = z.object(baseShape);

/**
 * The auth service's JWKS, derived in this one place: `AUTH_JWKS_URL` when set, else
 * `${AUTH_URL}/.well-known/jwks.json`; undefined when neither is set.
 */
export function jwksUrlOf(config: {
  AUTH_JWKS_URL?: string;
  AUTH_URL?: string;
}): string | undefined {
  if (config.AUTH_JWKS_URL) return config.AUTH_JWKS_URL;
  return config.AUTH_URL
    ? `${config.AUTH_URL.replace(/\/+$/, '')}/.well-known/jwks.json`
    : undefined;
}
export type BaseConfig = z.infer<typeof baseSchema>;

/**
 * Runs a service's `main`; when it fails to start, prints why and exits: 78 (EX_CONFIG) for a
 * bad configuration (the message lists every bad variable), 1 for anything else.
 */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    process.stderr.write(`${name} failed to start: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
