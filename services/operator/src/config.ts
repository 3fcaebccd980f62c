import { baseShape, duration, loadConfig, port, z } from '@cinema/config';

export const configSchema = z.object({
  ...baseShape,
  PORT: port(8009),
  SERVICE_NAME: z.string().default('operator'),
  /** A kubeconfig file; unset: KUBECONFIG's default lookup, then the Pod's ServiceAccount. */
  KUBECONFIG: z.string().optional(),
  /** The namespace whose CinemaPlatforms the operator reconciles (the chart sets its own). */
  WATCH_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a namespace name')
    .default('cinema'),
  /** The coordination.k8s.io Lease of the leader election (in WATCH_NAMESPACE). */
  LEASE_NAME: z.string().min(1).default('cinema-operator'),
  /** Who holds the lease: the Pod's name (downward API); default host name and pid. */
  POD_NAME: z.string().optional(),
  /** A leader that has not renewed for this long is replaced. */
  LEASE_DURATION_MS: duration(15_000),
  /** How often the leader renews (and a candidate retries). */
  LEASE_RENEW_MS: duration(2_000),
  /** Every platform is reconciled at least this often (drift of fields nobody watches). */
  RESYNC_MS: duration(300_000),
  /** While a platform is not ready it is looked at again after this long. */
  NOT_READY_REQUEUE_MS: duration(30_000),
  /** Concurrent reconciles (never two of the same platform). */
  WORKERS: z.coerce.number().int().min(1).max(16).default(2),
});

export type Config = z.infer<typeof configSchema>;

export const readConfig = (env: NodeJS.ProcessEnv = process.env): Readonly<Config> =>
  loadConfig(configSchema, env) as Readonly<Config>;
