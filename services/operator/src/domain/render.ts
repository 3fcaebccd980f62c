/**
 * The renderer: from a CinemaPlatform, every object the operator owns. Pure (no I/O): the
 * connection Secrets' values come in (`secrets`), kept from the cluster or generated once by the
 * reconciler. The dev profile renders what k8s/infrastructure/ holds; production adds brokers,
 * shards, replicas, Keeper, PodDisruptionBudgets and anti-affinity.
 */
import {
  API_VERSION,
  effectiveSpec,
  FIELD_MANAGER,
  KIND,
  MANAGED_BY_LABEL,
  PLATFORM_LABEL,
  type CinemaPlatform,
  type ComponentName,
  type EffectiveSpec,
  type KubeObject,
} from './spec';

export const COMPONENT_LABEL = 'cinema.dev/component';
export const KAFKA_CLUSTER = 'cinema-kafka';

/** A topic the platform declares (@cinema/kafka TOPICS). */
export interface TopicInput {
  name: string;
}

/** The connection Secrets: name -> key -> value (plain text). */
export type SecretValues = Record<string, Record<string, string>>;

/** What each Secret holds, and which component needs it. */
export interface SecretSpec {
  name: string;
  component: ComponentName | 'platform';
  /** Keys generated once (random) when missing. */
  generated: string[];
  /** Keys derived from the generated ones. */
  derived?: (values: Record<string, string>) => Record<string, string>;
  /** Keys with a value set here (restored if edited in the cluster). */
  fixed?: Record<string, string>;
  /** The Secret's type; `Opaque` by default. */
  type?: string;
}

/**
 * The read-only Elasticsearch roles (ECK `spec.auth.roles`), one per reader: catalog-api's search
 * (the catalog indices and their versions) and the ops pages' log search (Filebeat's data
 * streams); neither reads the other's. `monitor` answers the readiness ping.
 */
export const ES_READER_ROLES = `cinema_catalog_reader:
  cluster: ['monitor']
  indices:
    - names: ['films*', 'persons*', 'genres*']
      privileges: ['read', 'view_index_metadata']
cinema_logs_reader:
  cluster: ['monitor']
  indices:
    - names: ['filebeat-*', 'logs-*']
      privileges: ['read', 'view_index_metadata']
`;

/** The file-realm users of those roles: Secret name, user name, role. */
export const ES_READERS = [
  { secret: 'cinema-es-catalog-reader', username: 'catalog-reader', role: 'cinema_catalog_reader' },
  { secret: 'cinema-es-logs-reader', username: 'logs-reader', role: 'cinema_logs_reader' },
] as const;

export const SECRET_SPECS: readonly SecretSpec[] = [
  { name: 'cinema-postgres', component: 'postgresql', generated: ['password'] },
  { name: 'cinema-mongodb-password', component: 'mongodb', generated: ['password'] },
  { name: 'cinema-clickhouse-credentials', component: 'clickhouse', generated: ['password'] },
  // Readers of Elasticsearch (catalog-api, the ops pages) use these file-realm users, not ECK's
  // `elastic` superuser: a leaked reader password cannot write, delete or read other indices.
  ...ES_READERS.map((r): SecretSpec => ({
    name: r.secret,
    component: 'elasticsearch',
    generated: ['password'],
    fixed: { username: r.username, roles: r.role },
    type: 'kubernetes.io/basic-auth',
  })),
  {
    name: 'cinema-es-roles',
    component: 'elasticsearch',
    generated: [],
    fixed: { 'roles.yml': ES_READER_ROLES },
  },
  { name: 'cinema-auth-secrets', component: 'platform', generated: ['jwt-key-encryption-secret'] },
  // Signs the unsubscribe links notifications mails: kept once made (a new key breaks old links).
  {
    name: 'cinema-notifications-secrets',
    component: 'platform',
    generated: ['unsubscribe-secret'],
  },
];

/** Secrets whose values are derived from another Secret's (the services' PostgreSQL URL). */
export function derivedSecrets(values: SecretValues): SecretValues {
  const pg = values['cinema-postgres']?.password;
  return pg
    ? { 'cinema-postgres-app': { url: `postgres://cinema:${pg}@cinema-postgres:5432/cinema` } }
    : {};
}

/** The Secrets the platform needs given its spec. */
export function wantedSecrets(spec: EffectiveSpec): SecretSpec[] {
  return SECRET_SPECS.filter(
    (s) => s.component === 'platform' || spec.components[s.component].enabled,
  );
}

/**
 * Keeps every existing value, generates the missing ones (never rotates), and adds the derived
 * Secrets.
 */
export function secretValues(
  spec: EffectiveSpec,
  existing: SecretValues,
  generate: () => string,
): SecretValues {
  const out: SecretValues = {};
  for (const s of wantedSecrets(spec)) {
    const current = existing[s.name] ?? {};
    out[s.name] = {
      ...s.fixed,
      ...Object.fromEntries(s.generated.map((k) => [k, current[k] ?? generate()])),
    };
  }
  return { ...out, ...derivedSecrets(out) };
}

interface Context {
  platform: CinemaPlatform;
  spec: EffectiveSpec;
  namespace: string;
  production: boolean;
}

function meta(
  ctx: Context,
  name: string,
  component: ComponentName | 'platform',
  extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): KubeObject['metadata'] {
  const { platform } = ctx;
  return {
    name,
    namespace: ctx.namespace,
    labels: {
      'app.kubernetes.io/part-of': 'cinema',
      [MANAGED_BY_LABEL]: FIELD_MANAGER,
      [PLATFORM_LABEL]: platform.metadata.name,
      [COMPONENT_LABEL]: component,
      ...extra.labels,
    },
    ...(extra.annotations ? { annotations: extra.annotations } : {}),
    ownerReferences: [
      {
        apiVersion: API_VERSION,
        kind: KIND,
        name: platform.metadata.name,
        uid: platform.metadata.uid ?? '',
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
}

/** Spread pods of one selector over nodes (preferred: a small cluster still schedules). */
function antiAffinity(labels: Record<string, string>) {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            topologyKey: 'kubernetes.io/hostname',
            labelSelector: { matchLabels: labels },
          },
        },
      ],
    },
  };
}

function pdb(
  ctx: Context,
  name: string,
  component: ComponentName,
  selector: Record<string, string>,
) {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(ctx, `${name}-pdb`, component),
    spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
  };
}

function kafka(ctx: Context, topics: readonly TopicInput[]): KubeObject[] {
  const c = ctx.spec.components.kafka;
  const rf = ctx.spec.topics.replicas;
  const minIsr = ctx.spec.topics.minInsync;
  const poolLabels = { 'strimzi.io/cluster': KAFKA_CLUSTER };
  const objects: KubeObject[] = [
    {
      apiVersion: 'kafka.strimzi.io/v1beta2',
      kind: 'KafkaNodePool',
      metadata: meta(ctx, 'dual-role', 'kafka', { labels: poolLabels }),
      spec: {
        replicas: c.replicas,
        roles: ['controller', 'broker'],
        storage: {
          type: 'jbod',
          volumes: [
            {
              id: 0,
              type: 'persistent-claim',
              size: c.storage,
              deleteClaim: false,
              kraftMetadata: 'shared',
            },
          ],
        },
        resources: c.resources,
        ...(ctx.production
          ? {
              template: {
                pod: {
                  affinity: antiAffinity({
                    'strimzi.io/cluster': KAFKA_CLUSTER,
                    'strimzi.io/pool-name': 'dual-role',
                  }),
                },
              },
            }
          : {}),
      },
    },
    {
      apiVersion: 'kafka.strimzi.io/v1beta2',
      kind: 'Kafka',
      metadata: meta(ctx, KAFKA_CLUSTER, 'kafka', {
        annotations: { 'strimzi.io/node-pools': 'enabled', 'strimzi.io/kraft': 'enabled' },
      }),
      spec: {
        kafka: {
          version: c.version,
          metadataVersion: `${c.version.split('.').slice(0, 2).join('.')}-IV0`,
          listeners: [{ name: 'plain', port: 9092, type: 'internal', tls: false }],
          config: {
            'offsets.topic.replication.factor': rf,
            'transaction.state.log.replication.factor': rf,
            'transaction.state.log.min.isr': minIsr,
            'default.replication.factor': rf,
            'min.insync.replicas': minIsr,
          },
        },
        entityOperator: { topicOperator: {}, userOperator: {} },
      },
    },
  ];
  if (ctx.spec.topics.managed) {
    for (const topic of topics) {
      objects.push({
        apiVersion: 'kafka.strimzi.io/v1beta2',
        kind: 'KafkaTopic',
        metadata: meta(ctx, kafkaTopicName(topic.name), 'kafka', { labels: poolLabels }),
        spec: {
          topicName: topic.name,
          partitions: ctx.spec.topics.partitions,
          replicas: rf,
          config: { 'min.insync.replicas': String(minIsr) },
        },
      });
    }
  }
  return objects;
}

/** A topic's KafkaTopic name (as the service charts name theirs). */
export function kafkaTopicName(topic: string): string {
  return topic.replace(/[_.]/g, '-').slice(0, 63).replace(/-+$/, '');
}

function clickhouse(ctx: Context): KubeObject[] {
  const c = ctx.spec.components.clickhouse;
  const objects: KubeObject[] = [];
  const keeper = ctx.production;
  if (keeper) {
    objects.push({
      apiVersion: 'clickhouse-keeper.altinity.com/v1',
      kind: 'ClickHouseKeeperInstallation',
      metadata: meta(ctx, 'cinema-keeper', 'clickhouse'),
      spec: {
        configuration: { clusters: [{ name: 'keeper', layout: { replicasCount: 3 } }] },
        defaults: { templates: { podTemplate: 'keeper', dataVolumeClaimTemplate: 'data' } },
        templates: {
          podTemplates: [
            {
              name: 'keeper',
              podDistribution: [
                { type: 'ClickHouseAntiAffinity', scope: 'ClickHouseInstallation' },
              ],
              spec: {
                containers: [
                  { name: 'clickhouse-keeper', image: `clickhouse/clickhouse-keeper:${c.version}` },
                ],
              },
            },
          ],
          volumeClaimTemplates: [volumeClaim('data', '5Gi')],
        },
      },
    });
  }
  objects.push({
    apiVersion: 'clickhouse.altinity.com/v1',
    kind: 'ClickHouseInstallation',
    metadata: meta(ctx, 'cinema', 'clickhouse'),
    spec: {
      configuration: {
        users: {
          'cinema/k8s_secret_password': 'cinema-clickhouse-credentials/password',
          'cinema/networks/ip': ['0.0.0.0/0', '::/0'],
          'cinema/profile': 'default',
          'cinema/quota': 'default',
          'cinema/access_management': 1,
        },
        ...(keeper ? { zookeeper: { nodes: [{ host: 'keeper-cinema-keeper', port: 2181 }] } } : {}),
        clusters: [
          {
            name: 'events',
            layout: { shardsCount: ctx.spec.clickhouseShards, replicasCount: c.replicas },
          },
        ],
      },
      defaults: { templates: { podTemplate: 'clickhouse', dataVolumeClaimTemplate: 'data' } },
      templates: {
        podTemplates: [
          {
            name: 'clickhouse',
            ...(ctx.production
              ? {
                  podDistribution: [
                    { type: 'ClickHouseAntiAffinity', scope: 'ClickHouseInstallation' },
                  ],
                }
              : {}),
            spec: {
              containers: [
                {
                  name: 'clickhouse',
                  image: `clickhouse/clickhouse-server:${c.version}`,
                  resources: c.resources,
                },
              ],
            },
          },
        ],
        volumeClaimTemplates: [volumeClaim('data', c.storage)],
      },
    },
  });
  if (ctx.production) {
    objects.push(
      pdb(ctx, 'cinema-clickhouse', 'clickhouse', { 'clickhouse.altinity.com/chi': 'cinema' }),
    );
  }
  return objects;
}

function volumeClaim(name: string, storage: string) {
  return {
    name,
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
  };
}

function mongodb(ctx: Context): KubeObject[] {
  const c = ctx.spec.components.mongodb;
  const objects: KubeObject[] = [
    {
      apiVersion: 'mongodbcommunity.mongodb.com/v1',
      kind: 'MongoDBCommunity',
      metadata: meta(ctx, 'cinema-mongodb', 'mongodb'),
      spec: {
        members: c.replicas,
        type: 'ReplicaSet',
        version: c.version,
        security: { authentication: { modes: ['SCRAM'] } },
        users: [
          {
            name: 'cinema',
            db: 'admin',
            passwordSecretRef: { name: 'cinema-mongodb-password' },
            roles: [
              { name: 'readWriteAnyDatabase', db: 'admin' },
              { name: 'dbAdminAnyDatabase', db: 'admin' },
              { name: 'clusterMonitor', db: 'admin' },
            ],
            scramCredentialsSecretName: 'cinema-mongodb-scram',
          },
        ],
        additionalMongodConfig: { 'storage.wiredTiger.engineConfig.journalCompressor': 'zlib' },
        ...(ctx.production
          ? {
              statefulSet: {
                spec: {
                  template: {
                    spec: { affinity: antiAffinity({ app: 'cinema-mongodb-svc' }) },
                  },
                },
              },
            }
          : {}),
      },
    },
  ];
  if (ctx.production) {
    objects.push(pdb(ctx, 'cinema-mongodb', 'mongodb', { app: 'cinema-mongodb-svc' }));
  }
  return objects;
}

function elastic(ctx: Context): KubeObject[] {
  const c = ctx.spec.components.elasticsearch;
  const esLabels = { 'elasticsearch.k8s.elastic.co/cluster-name': 'cinema' };
  const objects: KubeObject[] = [
    {
      apiVersion: 'elasticsearch.k8s.elastic.co/v1',
      kind: 'Elasticsearch',
      metadata: meta(ctx, 'cinema', 'elasticsearch'),
      spec: {
        version: c.version,
        http: { tls: { selfSignedCertificate: { disabled: true } } },
        // The read-only user and its role (Secrets above).
        auth: {
          roles: [{ secretName: 'cinema-es-roles' }],
          fileRealm: ES_READERS.map((r) => ({ secretName: r.secret })),
        },
        nodeSets: [
          {
            name: 'default',
            count: c.replicas,
            config: { 'node.store.allow_mmap': false },
            podTemplate: {
              spec: {
                containers: [{ name: 'elasticsearch', resources: c.resources }],
                ...(ctx.production ? { affinity: antiAffinity(esLabels) } : {}),
              },
            },
            volumeClaimTemplates: [
              {
                metadata: { name: 'elasticsearch-data' },
                spec: {
                  accessModes: ['ReadWriteOnce'],
                  resources: { requests: { storage: c.storage } },
                },
              },
            ],
          },
        ],
      },
    },
  ];
  if (ctx.spec.kibana) {
    objects.push({
      apiVersion: 'kibana.k8s.elastic.co/v1',
      kind: 'Kibana',
      metadata: meta(ctx, 'cinema', 'elasticsearch'),
      spec: {
        version: c.version,
        count: 1,
        elasticsearchRef: { name: 'cinema' },
        http: { tls: { selfSignedCertificate: { disabled: true } } },
      },
    });
  }
  if (ctx.spec.filebeat) {
    objects.push(
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: meta(ctx, 'cinema-filebeat', 'elasticsearch'),
      },
      {
        apiVersion: 'beat.k8s.elastic.co/v1beta1',
        kind: 'Beat',
        metadata: meta(ctx, 'cinema-filebeat', 'elasticsearch'),
        spec: filebeatSpec(c.version, ctx.spec.kibana),
      },
    );
  }
  return objects;
}

function filebeatSpec(version: string, kibana: boolean) {
  const hostPath = (name: string, path: string) => ({ name, hostPath: { path } });
  return {
    type: 'filebeat',
    version,
    elasticsearchRef: { name: 'cinema' },
    ...(kibana ? { kibanaRef: { name: 'cinema' } } : {}),
    config: {
      'filebeat.autodiscover': {
        providers: [
          {
            type: 'kubernetes',
            node: '${NODE_NAME}',
            'hints.enabled': true,
            'hints.default_config': {
              type: 'filestream',
              id: 'container-${data.kubernetes.container.id}',
              'prospector.scanner.symlinks': true,
              paths: ['/var/log/containers/*${data.kubernetes.container.id}.log'],
              parsers: [
                { container: {} },
                {
                  ndjson: {
                    target: '',
                    overwrite_keys: true,
                    expand_keys: true,
                    ignore_decoding_error: true,
                  },
                },
              ],
            },
          },
        ],
      },
      processors: [{ add_host_metadata: {} }],
    },
    daemonSet: {
      podTemplate: {
        spec: {
          serviceAccountName: 'cinema-filebeat',
          automountServiceAccountToken: true,
          terminationGracePeriodSeconds: 30,
          dnsPolicy: 'ClusterFirstWithHostNet',
          hostNetwork: true,
          securityContext: { runAsUser: 0 },
          containers: [
            {
              name: 'filebeat',
              env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
              volumeMounts: [
                { name: 'varlogcontainers', mountPath: '/var/log/containers' },
                { name: 'varlogpods', mountPath: '/var/log/pods' },
                { name: 'varlibdockercontainers', mountPath: '/var/lib/docker/containers' },
              ],
            },
          ],
          volumes: [
            hostPath('varlogcontainers', '/var/log/containers'),
            hostPath('varlogpods', '/var/log/pods'),
            hostPath('varlibdockercontainers', '/var/lib/docker/containers'),
          ],
        },
      },
    },
  };
}

function rabbitmq(ctx: Context): KubeObject[] {
  const c = ctx.spec.components.rabbitmq;
  const labels = { 'app.kubernetes.io/name': 'cinema-rabbitmq' };
  const objects: KubeObject[] = [
    {
      apiVersion: 'rabbitmq.com/v1beta1',
      kind: 'RabbitmqCluster',
      metadata: meta(ctx, 'cinema-rabbitmq', 'rabbitmq'),
      spec: {
        replicas: c.replicas,
        image: `rabbitmq:${c.version}-management`,
        resources: c.resources,
        persistence: { storage: c.storage },
        rabbitmq: {
          additionalConfig: ctx.production
            ? 'log.console.formatter = json\ndefault_queue_type = quorum\n'
            : 'log.console.formatter = json\n',
        },
        ...(ctx.production ? { affinity: antiAffinity(labels) } : {}),
      },
    },
  ];
  if (ctx.production) objects.push(pdb(ctx, 'cinema-rabbitmq', 'rabbitmq', labels));
  return objects;
}

function jaeger(ctx: Context): KubeObject[] {
  const c = ctx.spec.components.jaeger;
  return [
    {
      apiVersion: 'jaegertracing.io/v1',
      kind: 'Jaeger',
      metadata: meta(ctx, 'cinema-jaeger', 'jaeger'),
      spec: {
        strategy: 'allInOne',
        allInOne: {
          image: `jaegertracing/all-in-one:${c.version}`,
          options: { 'log-level': 'info' },
        },
        storage: { type: 'memory', options: { memory: { 'max-traces': 100000 } } },
        ingress: { enabled: false },
      },
    },
  ];
}

function service(
  ctx: Context,
  name: string,
  app: string,
  component: ComponentName,
  port: number,
  portName: string,
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(ctx, name, component, { labels: { 'app.kubernetes.io/name': app } }),
    spec: {
      selector: { 'app.kubernetes.io/name': app },
      ports: [{ name: portName, port, targetPort: portName }],
    },
  };
}

function postgresql(ctx: Context): KubeObject[] {
  const c = ctx.spec.components.postgresql;
  const labels = { 'app.kubernetes.io/name': 'postgres', 'app.kubernetes.io/part-of': 'cinema' };
  return [
    service(ctx, 'cinema-postgres', 'postgres', 'postgresql', 5432, 'postgres'),
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta(ctx, 'cinema-postgres', 'postgresql', {
        labels: { 'app.kubernetes.io/name': 'postgres' },
      }),
      spec: {
        serviceName: 'cinema-postgres',
        replicas: c.replicas,
        selector: { matchLabels: { 'app.kubernetes.io/name': 'postgres' } },
        template: {
          metadata: { labels },
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 999, fsGroup: 999 },
            containers: [
              {
                name: 'postgres',
                image: `postgres:${c.version}-bookworm`,
                ports: [{ name: 'postgres', containerPort: 5432 }],
                env: [
                  { name: 'POSTGRES_USER', value: 'cinema' },
                  { name: 'POSTGRES_DB', value: 'cinema' },
                  {
                    name: 'POSTGRES_PASSWORD',
                    valueFrom: { secretKeyRef: { name: 'cinema-postgres', key: 'password' } },
                  },
                  { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
                ],
                readinessProbe: {
                  exec: { command: ['pg_isready', '-U', 'cinema', '-d', 'cinema'] },
                  periodSeconds: 5,
                },
                resources: c.resources,
                volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
              },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: {
              accessModes: ['ReadWriteOnce'],
              resources: { requests: { storage: c.storage } },
            },
          },
        ],
      },
    },
  ];
}

function redisDeployment(
  ctx: Context,
  name: string,
  app: string,
  maxMemory: string,
  policy: string,
  resources: unknown,
): KubeObject[] {
  const c = ctx.spec.components.redis;
  return [
    service(ctx, name, app, 'redis', 6379, 'redis'),
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(ctx, name, 'redis', { labels: { 'app.kubernetes.io/name': app } }),
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': app } },
        template: {
          metadata: {
            labels: { 'app.kubernetes.io/name': app, 'app.kubernetes.io/part-of': 'cinema' },
          },
          spec: {
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 999,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: 'redis',
                image: `redis:${c.version}-alpine`,
                args: [
                  '--save',
                  '',
                  '--appendonly',
                  'no',
                  '--maxmemory',
                  maxMemory,
                  '--maxmemory-policy',
                  policy,
                ],
                ports: [{ name: 'redis', containerPort: 6379 }],
                readinessProbe: { tcpSocket: { port: 'redis' }, periodSeconds: 5 },
                resources,
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
              },
            ],
          },
        },
      },
    },
  ];
}

function redis(ctx: Context): KubeObject[] {
  const c = ctx.spec.components.redis;
  return [
    // The catalog API's cache: evicts least recently used.
    ...redisDeployment(ctx, 'cinema-redis', 'redis', '256mb', 'allkeys-lru', c.resources),
    // Auth's lockouts and rate-limit windows: never evicts.
    ...redisDeployment(ctx, 'cinema-auth-redis', 'auth-redis', '96mb', 'noeviction', {
      requests: { cpu: '25m', memory: '32Mi' },
      limits: { memory: '128Mi' },
    }),
  ];
}

function secrets(ctx: Context, values: SecretValues): KubeObject[] {
  return Object.entries(values)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, data]) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta(
        ctx,
        name,
        SECRET_SPECS.find((s) => s.name === name)?.component ?? 'postgresql',
      ),
      type: SECRET_SPECS.find((s) => s.name === name)?.type ?? 'Opaque',
      data: Object.fromEntries(
        Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]),
      ),
    }));
}

const RENDERERS: Record<
  ComponentName,
  (ctx: Context, topics: readonly TopicInput[]) => KubeObject[]
> = {
  kafka,
  clickhouse,
  mongodb,
  elasticsearch: elastic,
  rabbitmq,
  jaeger,
  postgresql,
  redis,
};

export interface RenderInput {
  platform: CinemaPlatform;
  topics: readonly TopicInput[];
  secrets: SecretValues;
}

/** Every child of the platform, in apply order (Secrets first: workloads read them). */
export function render({ platform, topics, secrets: values }: RenderInput): KubeObject[] {
  const spec = effectiveSpec(platform.spec ?? {});
  const ctx: Context = {
    platform,
    spec,
    namespace: platform.metadata.namespace ?? 'default',
    production: spec.profile === 'production',
  };
  const objects = secrets(ctx, values);
  for (const [name, renderer] of Object.entries(RENDERERS) as Array<
    [ComponentName, (typeof RENDERERS)[ComponentName]]
  >) {
    if (spec.components[name].enabled) objects.push(...renderer(ctx, topics));
  }
  return objects;
}

/** The identity of an object: apiVersion, kind, namespace and name. */
export function keyOf(obj: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  return `${obj.apiVersion}/${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}
