/**
 * Command line of the notifications service:
 *   node dist/cli.js backfill    fill the recipients projection from auth's users list (idempotent)
 * Reads the service's environment (the same Secret/ConfigMap as the service); the back-fill needs
 * AUTH_URL (or AUTH_JWKS_URL) and the service account AUTH_BACKFILL_EMAIL / AUTH_BACKFILL_PASSWORD
 * (role admin or super_user in auth). Exit codes: 0 done, 1 failed, 2 usage or configuration.
 */
import { ConfigError } from '@cinema/config';
import { createLogger } from '@cinema/logging';
import { authBaseUrlOf, backfillConfigured, runBackfill } from './adapters/auth.backfill';
import { createAuthClient } from '@cinema/auth';
import { PgRecipientsRepository } from './adapters/recipients.repository';
import { readConfig } from './config';
import { connectPostgres } from './wiring';

const USAGE = `usage: cli.js <command>
  backfill      fill the recipients projection from auth's users list (GET /api/v1/auth/users);
                safe to run again: an account is applied only if newer than what the projection has`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'backfill' || rest.length) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let config;
  try {
    config = readConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (!backfillConfigured(config)) {
    process.stderr.write(
      'set AUTH_BACKFILL_EMAIL and AUTH_BACKFILL_PASSWORD (an account of auth with the role admin or super_user)\n',
    );
    return 2;
  }
  const logger = createLogger({ service: 'notifications-cli', level: config.LOG_LEVEL });
  const pool = await connectPostgres(config, logger);
  try {
    const result = await runBackfill({
      config,
      client: createAuthClient(authBaseUrlOf(config)),
      recipients: new PgRecipientsRepository(pool),
      logger,
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`backfill failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await pool.end();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
