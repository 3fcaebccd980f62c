/**
 * Command line of the auth service:
 *   node dist/cli.js migrate
 *   node dist/cli.js createsuperuser [--email <e-mail>] [--password-stdin] [--promote-existing]
 *   node dist/cli.js rotate-keys
 * createsuperuser asks for what is missing (e-mail, then the password twice; hidden on a TTY).
 * Only DATABASE_URL (and AUTH_DB_SCHEMA) are needed.
 */
import * as readline from 'node:readline';
import { ConfigError, loadConfig, z } from '@cinema/config';
import { ConflictError, ValidationError } from '@cinema/errors';
import { createLogger } from '@cinema/logging';
import { createStore, runMigrations } from './adapters/db';
import { configSchema } from './config';
import { createSuperuser } from './domain/superuser';
import { connectPostgres, keyStoreOf, passwordHasherOf } from './wiring';

const cliSchema = configSchema.extend({
  REDIS_URL: z.string().url().optional(),
  AMQP_URL: z.string().url().optional(),
});

const USAGE = `usage: cli.js <command>
  migrate                                   apply the database migrations (idempotent)
  createsuperuser [--email E] [--password-stdin] [--promote-existing]
                                            create a super_user (asks for what is missing);
                                            an existing account only with --promote-existing
                                            (its password is replaced, its sessions end)
  rotate-keys                               make a new access-token signing key`;

/** Reads lines from stdin one by one (works for a TTY and for a pipe). */
function lineReader() {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  const queue: string[] = [];
  const waiting: Array<(line: string | undefined) => void> = [];
  let closed = false;
  rl.on('line', (line) => {
    const w = waiting.shift();
    if (w) w(line);
    else queue.push(line);
  });
  rl.on('close', () => {
    closed = true;
    for (const w of waiting.splice(0)) w(undefined);
  });
  return {
    next(): Promise<string | undefined> {
      if (queue.length) return Promise.resolve(queue.shift());
      if (closed) return Promise.resolve(undefined);
      return new Promise((resolve) => waiting.push(resolve));
    },
    close: () => rl.close(),
  };
}

/** A question on a terminal; a hidden answer is not echoed. */
function askTty(prompt: string, hidden: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({
      input: process.stdin,
      output: process.stderr,
      terminal: true,
    }) as readline.Interface & { _writeToOutput?: (s: string) => void };
    if (hidden) {
      rl._writeToOutput = (s: string) => {
        if (s.startsWith(prompt)) process.stderr.write(prompt);
        else if (s.includes('\n') || s.includes('\r')) process.stderr.write('\n');
      };
    }
    rl.question(prompt, (answer) => {
      rl.close();
      resolve(answer);
    });
    rl.once('close', () => reject(new Error('no more input')));
  });
}

async function ask(
  lines: ReturnType<typeof lineReader>,
  prompt: string,
  hidden = false,
): Promise<string> {
  if (process.stdin.isTTY) return askTty(prompt, hidden);
  process.stderr.write(prompt);
  const line = await lines.next();
  if (line === undefined) throw new Error('no more input');
  if (hidden) process.stderr.write('\n');
  return line.replace(/\r$/, '');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 64;
  }
  const config = loadConfig(cliSchema, process.env);
  // Results go to stdout; warnings (a pool error) to stderr as log lines.
  const logger = createLogger({ service: 'auth-cli', level: 'warn', destination: process.stderr });
  const pool = await connectPostgres(config, logger, { migrate: false, max: 2 });
  try {
    const migrations = await runMigrations(pool, config.AUTH_DB_SCHEMA);
    if (command === 'migrate') {
      process.stdout.write(
        `migrations: ${migrations.applied.length} applied${migrations.applied.length ? ` (${migrations.applied.join(', ')})` : ''}, ${migrations.skipped.length} already applied\n`,
      );
      return 0;
    }
    if (command === 'rotate-keys') {
      const kid = await keyStoreOf(pool, config).rotate();
      process.stdout.write(
        `new signing key ${kid}; previous keys stay published until they expire\n`,
      );
      return 0;
    }
    if (command === 'createsuperuser') {
      let email: string | undefined;
      let passwordStdin = false;
      let promoteExisting = false;
      for (let i = 0; i < rest.length; i++) {
        if (rest[i] === '--email') email = rest[++i];
        else if (rest[i]?.startsWith('--email=')) email = rest[i]!.slice(8);
        else if (rest[i] === '--password-stdin') passwordStdin = true;
        else if (rest[i] === '--promote-existing') promoteExisting = true;
        else {
          process.stderr.write(`unknown option ${rest[i]}\n${USAGE}\n`);
          return 64;
        }
      }
      const lines = process.stdin.isTTY
        ? { next: async () => undefined, close: () => undefined }
        : lineReader();
      try {
        if (!email) email = (await ask(lines, 'E-mail: ')).trim();
        let password: string;
        if (passwordStdin) {
          password = ((await lines.next()) ?? '').replace(/\r$/, '');
        } else {
          password = await ask(lines, 'Password: ', true);
          const again = await ask(lines, 'Password (again): ', true);
          if (again !== password) {
            process.stderr.write('the passwords do not match\n');
            return 65;
          }
        }
        // Ending the sessions of a promoted account writes their `session.revoked` event to the
        // outbox, as the service does; the running service's publisher sends it.
        const store = createStore(pool, {
          accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
          revoked: () => undefined,
        });
        const { user, created, sessionsEnded } = await createSuperuser(
          store,
          passwordHasherOf(config),
          email,
          password,
          { promoteExisting },
        );
        process.stdout.write(
          created
            ? `created super_user ${user.email} (${user.id}) with roles ${user.roles.join(', ')}\n`
            : `promoted ${user.email} (${user.id}) to super_user with roles ${user.roles.join(', ')}; ` +
                `password replaced; ${sessionsEnded} session(s) ended\n`,
        );
        return 0;
      } finally {
        lines.close();
      }
    }
    process.stderr.write(`unknown command ${command}\n${USAGE}\n`);
    return 64;
  } finally {
    await pool.end();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    if (err instanceof ConflictError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(65);
    }
    if (err instanceof ValidationError) {
      const why = Object.values(err.fields).map((f) => f.message);
      process.stderr.write(`${err.message}: ${why.join('; ')}\n`);
      process.exit(65);
    }
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
