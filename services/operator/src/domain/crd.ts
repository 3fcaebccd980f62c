/**
 * The CustomResourceDefinition of CinemaPlatform, the one source of
 * charts/operator/crds/cinemaplatforms.cinema.dev.yaml (written by `scripts/write-crd.ts`; a unit
 * test fails when the file is stale). Defaults the API server can fill without knowing the
 * profile are here (enabled, version, profile); size defaults depend on the profile and are
 * applied by the renderer (spec.ts `PROFILE_SIZES`).
 */
import { COMPONENTS, DEFAULT_VERSIONS, GROUP, KIND, PLURAL, VERSION } from './spec';

type Schema = Record<string, unknown>;

const quantity: Schema = {
  type: 'string',
  maxLength: 32,
  pattern: '^[0-9]+(\\.[0-9]+)?(m|Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$',
};

const resources: Schema = {
  type: 'object',
  description: 'Container resources (requests and limits of cpu and memory).',
  properties: {
    requests: {
      type: 'object',
      properties: { cpu: quantity, memory: quantity },
    },
    limits: {
      type: 'object',
      properties: { cpu: quantity, memory: quantity },
    },
  },
};

const size: Schema = {
  type: 'object',
  description: 'Size of the component; unset fields take the profile default.',
  properties: {
    replicas: { type: 'integer', minimum: 1, maximum: 9 },
    storage: quantity,
    resources,
  },
};

function component(name: string, extra: Schema = {}, rules: Schema[] = []): Schema {
  return {
    type: 'object',
    default: {},
    properties: {
      enabled: { type: 'boolean', default: true },
      version: {
        type: 'string',
        maxLength: 32,
        pattern: '^[0-9]+(\\.[0-9]+){1,2}$',
        default: DEFAULT_VERSIONS[name as keyof typeof DEFAULT_VERSIONS],
      },
      size,
      ...extra,
    },
    ...(rules.length ? { 'x-kubernetes-validations': rules } : {}),
  };
}

const condition: Schema = {
  type: 'object',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: { type: 'string', maxLength: 316 },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    reason: { type: 'string', maxLength: 1024 },
    message: { type: 'string', maxLength: 32768 },
  },
};

export const specSchema: Schema = {
  type: 'object',
  properties: {
    profile: {
      type: 'string',
      enum: ['dev', 'production'],
      default: 'dev',
      description:
        'dev: one node of each (k8s/infrastructure/); production: 3 Kafka brokers (replication 3, min.insync 2), ClickHouse 2x2 with Keeper, 3 Elasticsearch nodes, 3 RabbitMQ nodes, a MongoDB replica set of 3, PodDisruptionBudgets and anti-affinity.',
    },
    kafka: component(
      'kafka',
      {
        topics: {
          type: 'object',
          default: {},
          properties: {
            managed: { type: 'boolean', default: true },
            partitions: { type: 'integer', minimum: 1, maximum: 64, default: 3 },
          },
        },
      },
      [],
    ),
    clickhouse: component('clickhouse', {
      shards: { type: 'integer', minimum: 1, maximum: 16 },
    }),
    mongodb: component('mongodb', {}, [
      {
        rule: '!has(self.size) || !has(self.size.replicas) || self.size.replicas % 2 == 1',
        message: 'a MongoDB replica set needs an odd number of members',
      },
    ]),
    elasticsearch: component(
      'elasticsearch',
      {
        kibana: {
          type: 'object',
          default: {},
          properties: { enabled: { type: 'boolean', default: true } },
        },
        filebeat: {
          type: 'object',
          default: {},
          properties: { enabled: { type: 'boolean', default: true } },
        },
      },
      [
        {
          rule: '(!has(self.enabled) || self.enabled) || (has(self.kibana) && has(self.kibana.enabled) && !self.kibana.enabled && has(self.filebeat) && has(self.filebeat.enabled) && !self.filebeat.enabled)',
          message: 'kibana and filebeat need elasticsearch: disable them too',
        },
      ],
    ),
    rabbitmq: component('rabbitmq'),
    jaeger: component('jaeger'),
    postgresql: component('postgresql', {}, [
      {
        rule: '!has(self.size) || !has(self.size.replicas) || self.size.replicas == 1',
        message: 'PostgreSQL runs as one instance (no operator manages a replicated one here)',
      },
    ]),
    redis: component('redis'),
    services: {
      type: 'object',
      default: {},
      description:
        "The platform's services; their Deployments (<release>-<name>) are read for readiness.",
      properties: {
        release: {
          type: 'string',
          maxLength: 30,
          pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$',
          default: 'cinema',
        },
        names: {
          type: 'array',
          maxItems: 32,
          'x-kubernetes-list-type': 'set',
          items: { type: 'string', maxLength: 32, pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$' },
        },
      },
    },
  },
  'x-kubernetes-validations': [
    {
      rule: "!has(self.profile) || self.profile != 'production' || !has(self.kafka) || !has(self.kafka.size) || !has(self.kafka.size.replicas) || self.kafka.size.replicas >= 3",
      message:
        'the production profile needs at least 3 Kafka brokers (replication 3, min.insync 2)',
    },
    {
      rule: "!has(self.profile) || self.profile != 'production' || !has(self.elasticsearch) || !has(self.elasticsearch.size) || !has(self.elasticsearch.size.replicas) || self.elasticsearch.size.replicas >= 3",
      message: 'the production profile needs at least 3 Elasticsearch nodes',
    },
  ],
};

export const statusSchema: Schema = {
  type: 'object',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64' },
    conditions: {
      type: 'array',
      maxItems: 8,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      items: condition,
    },
    components: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['ready'],
        properties: {
          ready: { type: 'boolean' },
          reason: { type: 'string' },
          message: { type: 'string' },
        },
      },
    },
    secrets: {
      type: 'array',
      description: 'The connection Secrets the operator made.',
      items: { type: 'string' },
    },
  },
};

const readyStatus = '.status.conditions[?(@.type=="Ready")]';

export const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${PLURAL}.${GROUP}` },
  spec: {
    group: GROUP,
    names: {
      kind: KIND,
      listKind: `${KIND}List`,
      plural: PLURAL,
      singular: 'cinemaplatform',
      shortNames: ['cp'],
      categories: ['cinema'],
    },
    scope: 'Namespaced',
    versions: [
      {
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Ready', type: 'string', jsonPath: `${readyStatus}.status` },
          { name: 'Reason', type: 'string', jsonPath: `${readyStatus}.reason` },
          { name: 'Profile', type: 'string', jsonPath: '.spec.profile' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            description:
              "The cinema platform's infrastructure (Kafka, ClickHouse, MongoDB, Elasticsearch, RabbitMQ, Jaeger, PostgreSQL, Redis) and the connection Secrets its services read.",
            required: ['spec'],
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: specSchema,
              status: statusSchema,
            },
          },
        },
      },
    ],
  },
};

export const COMPONENT_NAMES = COMPONENTS;
