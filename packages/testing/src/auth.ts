/**
 * The auth service in cross-service tests: its environment on the stack's PostgreSQL, Redis and
 * RabbitMQ under names of the test's own, with cheap password hashing, and an admin account made
 * through its command line, as an operator makes one.
 */
import { execFileSync } from 'node:child_process';

type Env = Record<string, string | undefined>;

/**
 * auth's environment for a test named `name` (letters, digits, `_`; e.g. `hops_${suffix()}`):
 * schema `auth_e2e_<name>`, rate-limit keys `auth:e2e:<name>`, events exchange
 * `auth.events.e2e.<name>`; `more` adds to it or overrides it.
 */
export function authTestEnv(name: string, more: Env = {}): Env {
  return {
    DATABASE_URL: process.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL,
    AMQP_URL: process.env.AMQP_URL,
    AUTH_DB_SCHEMA: `auth_e2e_${name}`,
    RATE_LIMIT_PREFIX: `auth:e2e:${name}`,
    AUTH_EVENTS_EXCHANGE: `auth.events.e2e.${name}`,
    ARGON2_MEMORY_KIB: '4096',
    ARGON2_TIME_COST: '1',
    ...more,
  };
}

/**
 * Makes an admin (super user) with auth's `createsuperuser`, the password on stdin: the command
 * line of the source (`src/cli.ts` through tsx) or, with `build`, of the build (`dist/cli.js`).
 */
export function createSuperuser(
  authDir: string,
  env: Env,
  account: { email: string; password: string },
  options: { build?: boolean } = {},
): void {
  const cli = options.build ? ['dist/cli.js'] : ['--import', 'tsx', 'src/cli.ts'];
  execFileSync(
    process.execPath,
    [...cli, 'createsuperuser', '--email', account.email, '--password-stdin'],
    {
      cwd: authDir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, LOG_LEVEL: 'warn' },
      input: `${account.password}\n`,
    },
  );
}
