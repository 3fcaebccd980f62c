/** PostgreSQL pool on the service's schema, migrations, and the transactional Store. */
import * as path from 'node:path';
import { ConflictError } from '@cinema/errors';
import { createPool, migrate, type MigrationResult, type Pool, type PoolClient } from '@cinema/pg';
import type { Repositories, Store } from '../domain/model';
import { DevicesRepository } from './devices.repository';
import { EmailTokensRepository } from './email-tokens.repository';
import { LoginHistoryRepository } from './login-history.repository';
import { OutboxRepository } from './outbox.repository';
import { ResetTokensRepository } from './reset-tokens.repository';
import { RolesRepository } from './roles.repository';
import { SessionsRepository, type RevocationPublishing } from './sessions.repository';
import { UsersRepository } from './users.repository';

export type Queryable = Pick<Pool, 'query'> | Pick<PoolClient, 'query'>;

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', 'migrations');

/** A pool whose connections resolve unqualified names in `schema`. */
export function createSchemaPool(url: string, schema: string, max = 10): Pool {
  return createPool(url, { max, options: `-c search_path=${schema},public` });
}

export function runMigrations(
  pool: Pool,
  schema: string,
  log?: (m: string) => void,
): Promise<MigrationResult> {
  return migrate(pool, { dir: MIGRATIONS_DIR, schema, log });
}

/** Maps driver errors that are the client's doing to named errors. */
export function mapPgError(err: unknown): never {
  const e = err as { code?: string; constraint?: string };
  if (e.code === '23505') {
    const what = e.constraint?.includes('email')
      ? 'an account with this e-mail already exists'
      : e.constraint?.includes('name')
        ? 'a role with this name already exists'
        : 'it already exists';
    throw new ConflictError(what);
  }
  throw err;
}

function repositories(db: Queryable, publishing?: RevocationPublishing): Repositories {
  return {
    users: new UsersRepository(db),
    roles: new RolesRepository(db),
    sessions: new SessionsRepository(db, publishing),
    resets: new ResetTokensRepository(db),
    emailTokens: new EmailTokensRepository(db),
    history: new LoginHistoryRepository(db),
    devices: new DevicesRepository(db),
    outbox: new OutboxRepository(db),
  };
}

/**
 * The repositories over the pool, and `transaction`. With `publishing`, ending sessions also
 * writes their `session.revoked` event to the outbox, and wakes the publisher once the event is
 * committed (after the statement, or after the transaction's COMMIT).
 */
export function createStore(pool: Pool, publishing?: RevocationPublishing): Store {
  return {
    ...repositories(pool, publishing),
    async transaction(fn) {
      const client = await pool.connect();
      let revoked = false;
      const inTransaction = publishing && { ...publishing, revoked: () => (revoked = true) };
      try {
        await client.query('BEGIN');
        const result = await fn(repositories(client, inTransaction));
        await client.query('COMMIT');
        if (revoked) publishing?.revoked();
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
  };
}
