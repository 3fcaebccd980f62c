/**
 * The CinemaPlatform resource (cinema.dev/v1alpha1) as types, and the effective spec: the API
 * server fills the CRD's defaults (enabled, version, profile); sizes depend on the profile, so
 * their defaults are applied here, from `PROFILE_SIZES`.
 */

export const GROUP = 'cinema.dev';
export const VERSION = 'v1alpha1';
export const KIND = 'CinemaPlatform';
export const PLURAL = 'cinemaplatforms';
export const API_VERSION = `${GROUP}/${VERSION}`;
/** The field manager of every server-side apply, and the value of the managed-by label. */
export const FIELD_MANAGER = 'cinema-operator';
export const PAUSE_ANNOTATION = 'cinema.dev/pause-reconciliation';
/** Label on every child: the platform that owns it (the informers select on it). */
export const PLATFORM_LABEL = 'cinema.dev/platform';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** Label every chart of the platform (cinema-common) puts on its objects; the operator watches the
 * services' Deployments by it. */
export const PART_OF_SELECTOR = 'app.kubernetes.io/part-of=cinema';

export type Profile = 'dev' | 'production';

export interface Resources {
  requests?: { cpu?: string; memory?: string };
  limits?: { cpu?: string; memory?: string };
}

export interface Size {
  replicas?: number;
  storage?: string;
  resources?: Resources;
}

export interface ComponentSpec {
  enabled?: boolean;
  version?: string;
  size?: Size;
}

export interface ClickHouseSpec extends ComponentSpec {
  /** Shards x replicas (size.replicas is the replicas per shard). */
  shards?: number;
}

export interface KafkaSpec extends ComponentSpec {
  /** KafkaTopics of the platform's topics (@cinema/kafka TOPICS) made by the operator. */
  topics?: { managed?: boolean; partitions?: number };
}

export interface ElasticsearchSpec extends ComponentSpec {
  kibana?: { enabled?: boolean };
  filebeat?: { enabled?: boolean };
}

export interface PlatformSpec {
  profile?: Profile;
  kafka?: KafkaSpec;
  clickhouse?: ClickHouseSpec;
  mongodb?: ComponentSpec;
  elasticsearch?: ElasticsearchSpec;
  rabbitmq?: ComponentSpec;
  jaeger?: ComponentSpec;
  postgresql?: ComponentSpec;
  redis?: ComponentSpec;
  /** The platform's services (their Deployments, `<release>-<name>`, are read for readiness). */
  services?: { release?: string; names?: string[] };
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ComponentStatus {
  ready: boolean;
  reason: string;
  message: string;
}

export interface PlatformStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  components?: Record<string, ComponentStatus>;
  secrets?: string[];
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  creationTimestamp?: string;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface CinemaPlatform {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: PlatformSpec;
  status?: PlatformStatus;
}

/** A Kubernetes object as the renderer makes it and the reconciler applies it. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export const COMPONENTS = [
  'kafka',
  'clickhouse',
  'mongodb',
  'elasticsearch',
  'rabbitmq',
  'jaeger',
  'postgresql',
  'redis',
] as const;
export type ComponentName = (typeof COMPONENTS)[number];

export const DEFAULT_VERSIONS: Record<ComponentName, string> = {
  kafka: '3.9.1',
  clickhouse: '25.3',
  mongodb: '7.0.14',
  elasticsearch: '8.19.21',
  rabbitmq: '4.1.3',
  jaeger: '1.65.0',
  postgresql: '17.6',
  redis: '7.4',
};

export const DEFAULT_SERVICES = [
  'auth',
  'catalog-admin',
  'catalog-api',
  'catalog-etl',
  'notifications',
  'ugc-api',
  'ugc-collector',
  'ugc-etl',
];

interface EffectiveSize {
  replicas: number;
  storage: string;
  resources: Resources;
}

/** Sizes by profile: dev matches k8s/infrastructure/ (one node of each). */
export const PROFILE_SIZES: Record<Profile, Record<ComponentName, EffectiveSize>> = {
  dev: {
    kafka: {
      replicas: 1,
      storage: '5Gi',
      resources: { requests: { cpu: '250m', memory: '1Gi' }, limits: { memory: '2Gi' } },
    },
    clickhouse: {
      replicas: 1,
      storage: '5Gi',
      resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '2Gi' } },
    },
    mongodb: { replicas: 1, storage: '10Gi', resources: {} },
    elasticsearch: {
      replicas: 1,
      storage: '5Gi',
      resources: { requests: { cpu: '250m', memory: '2Gi' }, limits: { memory: '2Gi' } },
    },
    rabbitmq: {
      replicas: 1,
      storage: '2Gi',
      resources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { memory: '1Gi' } },
    },
    jaeger: { replicas: 1, storage: '0', resources: {} },
    postgresql: {
      replicas: 1,
      storage: '5Gi',
      resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
    },
    redis: {
      replicas: 1,
      storage: '0',
      resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '320Mi' } },
    },
  },
  production: {
    kafka: {
      replicas: 3,
      storage: '50Gi',
      resources: { requests: { cpu: '1', memory: '4Gi' }, limits: { memory: '4Gi' } },
    },
    clickhouse: {
      replicas: 2,
      storage: '100Gi',
      resources: { requests: { cpu: '2', memory: '8Gi' }, limits: { memory: '8Gi' } },
    },
    mongodb: { replicas: 3, storage: '20Gi', resources: {} },
    elasticsearch: {
      replicas: 3,
      storage: '50Gi',
      resources: { requests: { cpu: '1', memory: '4Gi' }, limits: { memory: '4Gi' } },
    },
    rabbitmq: {
      replicas: 3,
      storage: '10Gi',
      resources: { requests: { cpu: '500m', memory: '2Gi' }, limits: { memory: '2Gi' } },
    },
    jaeger: { replicas: 1, storage: '0', resources: {} },
    postgresql: {
      replicas: 1,
      storage: '50Gi',
      resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '4Gi' } },
    },
    redis: {
      replicas: 1,
      storage: '0',
      resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '512Mi' } },
    },
  },
};

export interface EffectiveComponent extends EffectiveSize {
  enabled: boolean;
  version: string;
}

export interface EffectiveSpec {
  profile: Profile;
  components: Record<ComponentName, EffectiveComponent>;
  clickhouseShards: number;
  kibana: boolean;
  filebeat: boolean;
  topics: { managed: boolean; partitions: number; replicas: number; minInsync: number };
  services: { release: string; names: string[] };
}

/** The spec with every default filled in (profile sizes included). */
export function effectiveSpec(spec: PlatformSpec): EffectiveSpec {
  const profile: Profile = spec.profile ?? 'dev';
  const sizes = PROFILE_SIZES[profile];
  const components = {} as Record<ComponentName, EffectiveComponent>;
  for (const name of COMPONENTS) {
    const c: ComponentSpec = spec[name] ?? {};
    const base = sizes[name];
    components[name] = {
      enabled: c.enabled ?? true,
      version: c.version ?? DEFAULT_VERSIONS[name],
      replicas: c.size?.replicas ?? base.replicas,
      storage: c.size?.storage ?? base.storage,
      resources: c.size?.resources ?? base.resources,
    };
  }
  const es = components.elasticsearch.enabled;
  const brokers = components.kafka.replicas;
  return {
    profile,
    components,
    clickhouseShards: spec.clickhouse?.shards ?? (profile === 'production' ? 2 : 1),
    kibana: es && (spec.elasticsearch?.kibana?.enabled ?? true),
    filebeat: es && (spec.elasticsearch?.filebeat?.enabled ?? true),
    topics: {
      managed: spec.kafka?.topics?.managed ?? true,
      partitions: spec.kafka?.topics?.partitions ?? 3,
      replicas: Math.min(brokers, 3),
      minInsync: brokers >= 3 ? 2 : 1,
    },
    services: {
      release: spec.services?.release ?? 'cinema',
      names: spec.services?.names ?? DEFAULT_SERVICES,
    },
  };
}

/**
 * The Deployment name the service chart gives a service in a release: cinema-common's `hostFor`
 * rule (the release alone when it already contains the service name, else `<release>-<name>`,
 * cut at 63 characters).
 */
export function serviceDeploymentName(release: string, name: string): string {
  const full = release.includes(name) ? release : `${release}-${name}`;
  return full.slice(0, 63).replace(/-+$/, '');
}

/** The keys (`namespace/name`) of the platforms that expect a service Deployment of this name. */
export function platformsExpecting(
  platforms: readonly CinemaPlatform[],
  namespace: string | undefined,
  deployment: string,
): string[] {
  return platforms
    .filter((p) => p.metadata.namespace === namespace)
    .filter((p) => {
      const { release, names } = effectiveSpec(p.spec ?? {}).services;
      return names.some((n) => serviceDeploymentName(release, n) === deployment);
    })
    .map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
}
