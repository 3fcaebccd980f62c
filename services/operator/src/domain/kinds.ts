/** The kinds the operator makes (its informers watch them, label-selected), with their plurals. */
export interface KindInfo {
  apiVersion: string;
  kind: string;
  plural: string;
}

export const OWNED_KINDS: readonly KindInfo[] = [
  { apiVersion: 'v1', kind: 'Secret', plural: 'secrets' },
  { apiVersion: 'v1', kind: 'Service', plural: 'services' },
  { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', plural: 'statefulsets' },
  { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets' },
  { apiVersion: 'kafka.strimzi.io/v1beta2', kind: 'Kafka', plural: 'kafkas' },
  { apiVersion: 'kafka.strimzi.io/v1beta2', kind: 'KafkaNodePool', plural: 'kafkanodepools' },
  { apiVersion: 'kafka.strimzi.io/v1beta2', kind: 'KafkaTopic', plural: 'kafkatopics' },
  {
    apiVersion: 'clickhouse.altinity.com/v1',
    kind: 'ClickHouseInstallation',
    plural: 'clickhouseinstallations',
  },
  {
    apiVersion: 'clickhouse-keeper.altinity.com/v1',
    kind: 'ClickHouseKeeperInstallation',
    plural: 'clickhousekeeperinstallations',
  },
  {
    apiVersion: 'mongodbcommunity.mongodb.com/v1',
    kind: 'MongoDBCommunity',
    plural: 'mongodbcommunity',
  },
  {
    apiVersion: 'elasticsearch.k8s.elastic.co/v1',
    kind: 'Elasticsearch',
    plural: 'elasticsearches',
  },
  { apiVersion: 'kibana.k8s.elastic.co/v1', kind: 'Kibana', plural: 'kibanas' },
  { apiVersion: 'beat.k8s.elastic.co/v1beta1', kind: 'Beat', plural: 'beats' },
  { apiVersion: 'rabbitmq.com/v1beta1', kind: 'RabbitmqCluster', plural: 'rabbitmqclusters' },
  { apiVersion: 'jaegertracing.io/v1', kind: 'Jaeger', plural: 'jaegers' },
];

/** The collection path of a kind in a namespace. */
export function collectionPath(
  kind: Pick<KindInfo, 'apiVersion' | 'plural'>,
  namespace: string,
): string {
  const base = kind.apiVersion.includes('/')
    ? `/apis/${kind.apiVersion}`
    : `/api/${kind.apiVersion}`;
  return `${base}/namespaces/${namespace}/${kind.plural}`;
}
