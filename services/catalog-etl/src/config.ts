import { baseShape, bool, duration, loadConfig, port, z } from '@cinema/config';

export const configSchema = z.object({
  ...baseShape,
  PORT: port(8004),
  SERVICE_NAME: z.string().default('catalog-etl'),
  DATABASE_URL: z.string().url(),
  ELASTICSEARCH_URL: z.string().url(),
  /** When set, the ETL bumps the catalog-api cache generation after every change it indexes. */
  REDIS_URL: z.string().url().optional(),
  CACHE_GENERATION_KEY: z.string().min(1).default('catalog-api:cache:generation'),
  /** Prefix of the index names (`<prefix>films`, `<prefix>genres`, `<prefix>persons`). */
  ES_INDEX_PREFIX: z
    .string()
    .regex(/^[a-z0-9_-]*$/, 'lower-case letters, digits, _ and - only')
    .default(''),
  /** Analyzer of the text fields: a built-in one (`standard`, `english` where available). */
  ES_ANALYZER: z.string().min(1).default('standard'),
  /** Automatic refresh of the indices; the ETL refreshes after each pass anyway. */
  ES_REFRESH_INTERVAL: z
    .string()
    .regex(/^(-1|\d+(ms|s|m))$/, '-1 or a duration such as 30s')
    .default('-1'),
  /** Parallel bulk requests per batch. */
  ES_BULK_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
  ETL_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
  ETL_POLL_INTERVAL_MS: duration(5_000),
  /**
   * Rows changed in the last ETL_SETTLE_MS are left for the next pass, so a transaction that
   * commits a little after its rows' `modified` was taken is not skipped by the keyset.
   */
  ETL_SETTLE_MS: z.coerce.number().int().min(0).default(1_000),
  ETL_RETRY_MIN_MS: duration(500),
  ETL_RETRY_MAX_MS: duration(30_000),
  /** --once (CronJob) mode: attempts before giving up with a non-zero exit. */
  ETL_ONCE_RETRIES: z.coerce.number().int().min(0).default(8),
  /** CronJob mode: catch up once and exit, without an HTTP server (also the `--once` flag). */
  ETL_ONCE: bool(false),
});

export type Config = z.infer<typeof configSchema>;

/** CronJob mode: `--once` on the command line or ETL_ONCE (read as the config reads it). */
export const onceMode = (
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv,
): boolean =>
  argv.includes('--once') || configSchema.shape.ETL_ONCE.safeParse(env.ETL_ONCE).data === true;

/** The environment, with `--once` on the command line read as ETL_ONCE=true. */
export const readConfig = (
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv,
): Readonly<Config> =>
  loadConfig(configSchema, argv.includes('--once') ? { ...env, ETL_ONCE: 'true' } : env);
