import { loopbackPorts, NODE } from '../src/node';
import { serverProperties } from '../src/servers/kafka';

describe('node (pure parts)', () => {
  it('relays the loopback ports named in the stack env, once each, and nothing else', () => {
    expect(
      loopbackPorts({
        DATABASE_URL: 'postgresql://u:p@127.0.0.1:25432/cinema',
        REDIS_URL: 'redis://127.0.0.1:26379',
        AUTH_REDIS_URL: 'redis://127.0.0.1:26379/1',
        KAFKA_BROKERS: '127.0.0.1:29092,localhost:29093',
        ELASTICSEARCH_URL: 'http://localhost:29200',
        REMOTE: 'http://10.0.0.5:8080',
        NOT_A_PORT: 'note: 127.0.0.1 is loopback',
        EMPTY: undefined,
      }),
    ).toEqual([25432, 26379, 29092, 29093, 29200]);
  });

  it("keeps the node's addresses consistent: bridge in the pod CIDR, DNS in the service range", () => {
    expect(NODE.podCidr).toBe('10.244.0.0/24');
    expect(NODE.address.startsWith('10.244.0.')).toBe(true);
    // The stack's kube-apiserver: --service-cluster-ip-range=10.96.0.0/16.
    expect(NODE.dnsIp.startsWith('10.96.')).toBe(true);
    const ports = Object.values(NODE.ports);
    expect(new Set(ports).size).toBe(ports.length);
  });
});

describe('Kafka second listener (STACK_KAFKA_CLUSTER_LISTENER)', () => {
  const saved = process.env.STACK_KAFKA_CLUSTER_LISTENER;
  afterEach(() => {
    if (saved === undefined) delete process.env.STACK_KAFKA_CLUSTER_LISTENER;
    else process.env.STACK_KAFKA_CLUSTER_LISTENER = saved;
  });

  it('is absent by default: one PLAINTEXT listener advertised on loopback', () => {
    delete process.env.STACK_KAFKA_CLUSTER_LISTENER;
    const props = serverProperties(29092, 29093, '/tmp/k');
    expect(props).toContain('listeners=PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093\n');
    expect(props).toContain('advertised.listeners=PLAINTEXT://127.0.0.1:29092\n');
  });

  it('adds a CLUSTER listener on loopback, advertised under the given name', () => {
    process.env.STACK_KAFKA_CLUSTER_LISTENER =
      '39190 cinema-kafka-kafka-bootstrap.cinema.svc.cluster.local:9092';
    const props = serverProperties(39092, 39093, '/tmp/k');
    expect(props).toContain(
      'listeners=PLAINTEXT://127.0.0.1:39092,CONTROLLER://127.0.0.1:39093,CLUSTER://127.0.0.1:39190\n',
    );
    expect(props).toContain(
      'advertised.listeners=PLAINTEXT://127.0.0.1:39092,CLUSTER://cinema-kafka-kafka-bootstrap.cinema.svc.cluster.local:9092\n',
    );
    expect(props).toContain('CLUSTER:PLAINTEXT');
  });

  it.each([
    '39190',
    'x cinema:9092',
    '39190 cinema',
    '39190 a:9092,PLAINTEXT://evil:1',
    '39190 a b:1',
    '39190 a:1 extra',
    '39190 a:1\nlisteners=PLAINTEXT://0.0.0.0:1',
  ])('refuses a malformed value %p (nothing smuggled into server.properties)', (value) => {
    process.env.STACK_KAFKA_CLUSTER_LISTENER = value;
    expect(() => serverProperties(39092, 39093, '/tmp/k')).toThrow(/STACK_KAFKA_CLUSTER_LISTENER/);
  });
});
