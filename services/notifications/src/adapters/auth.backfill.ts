/**
 * Runs the recipients back-fill (domain/recipients-backfill.ts) against auth: from the CLI
 * (`node dist/cli.js backfill`) or once at start when the projection is empty.
 */
import type { Logger } from '@cinema/logging';
import type { Pool } from '@cinema/pg';
import type { Config } from '../config';
import type { RecipientsRepository } from '../domain/model';
import { backfillRecipients, type BackfillResult } from '../domain/recipients-backfill';
import type { AuthClient } from '@cinema/auth';
import { createAuthUsersSource } from './auth.users';

export type BackfillConfig = Pick<
  Config,
  | 'AUTH_URL'
  | 'AUTH_JWKS_URL'
  | 'AUTH_BACKFILL_EMAIL'
  | 'AUTH_BACKFILL_PASSWORD'
  | 'AUTH_BACKFILL_PAGE_SIZE'
>;

/** auth's base URL: AUTH_URL, else the origin of AUTH_JWKS_URL. */
export const authBaseUrlOf = (c: Pick<Config, 'AUTH_URL' | 'AUTH_JWKS_URL'>) =>
  c.AUTH_URL ?? new URL(c.AUTH_JWKS_URL ?? 'http://127.0.0.1:8001').origin;

export const backfillConfigured = (c: BackfillConfig) =>
  Boolean(c.AUTH_BACKFILL_EMAIL && c.AUTH_BACKFILL_PASSWORD);

export async function runBackfill(o: {
  config: BackfillConfig;
  client: AuthClient;
  recipients: Pick<RecipientsRepository, 'apply'>;
  logger: Logger;
  signal?: AbortSignal;
}): Promise<BackfillResult> {
  if (!backfillConfigured(o.config)) {
    throw new Error(
      'set AUTH_BACKFILL_EMAIL and AUTH_BACKFILL_PASSWORD (an admin account of auth)',
    );
  }
  const source = createAuthUsersSource({
    baseUrl: authBaseUrlOf(o.config),
    client: o.client,
    account: { email: o.config.AUTH_BACKFILL_EMAIL!, password: o.config.AUTH_BACKFILL_PASSWORD! },
  });
  const started = Date.now();
  const result = await backfillRecipients({
    source,
    recipients: o.recipients,
    pageSize: o.config.AUTH_BACKFILL_PAGE_SIZE,
    signal: o.signal,
    onPage: (done, total) => o.logger.info({ done, total }, 'recipients back-fill: page applied'),
  });
  o.logger.info({ ...result, ms: Date.now() - started }, 'recipients back-fill done');
  return result;
}

export async function projectionIsEmpty(pool: Pick<Pool, 'query'>): Promise<boolean> {
  const res = await pool.query<{ empty: boolean }>(
    `SELECT NOT EXISTS (SELECT 1 FROM recipients) AS empty`,
  );
  return res.rows[0]!.empty;
}

/**
 * At start: back-fills in the background when the account is configured, AUTH_BACKFILL_ON_START
 * holds and the projection is empty (a fresh install). A failure is logged, never fatal (the
 * CLI runs it again). Answers the stop function for the shutdown hook.
 */
export function backfillAtStart(o: {
  config: BackfillConfig & Pick<Config, 'AUTH_BACKFILL_ON_START'>;
  client: AuthClient;
  recipients: Pick<RecipientsRepository, 'apply'>;
  pool: Pick<Pool, 'query'>;
  logger: Logger;
}): { done: Promise<BackfillResult | undefined>; stop(): Promise<void> } {
  const abort = new AbortController();
  const done = (async () => {
    if (!o.config.AUTH_BACKFILL_ON_START || !backfillConfigured(o.config)) return undefined;
    if (!(await projectionIsEmpty(o.pool))) return undefined;
    o.logger.info('recipients projection is empty: back-filling from auth');
    return runBackfill({ ...o, signal: abort.signal });
  })().catch((err: unknown) => {
    o.logger.warn({ err }, 'recipients back-fill failed (run `node dist/cli.js backfill`)');
    return undefined;
  });
  return {
    done,
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}
