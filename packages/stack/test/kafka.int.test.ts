import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';

describe('kafka (local stack)', () => {
  const kafka = new Kafka({
    clientId: 'stack-test',
    brokers: process.env.KAFKA_BROKERS!.split(','),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;
  const topics: string[] = [];

  afterAll(async () => {
    await consumer?.disconnect();
    await producer?.disconnect();
    if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });

  it('creates a topic, produces and consumes in a consumer group', async () => {
    const suffix = `${process.pid}-${Date.now()}`;
    const topic = `stack-test-${suffix}`;
    topics.push(topic);
    await admin.connect();
    expect(
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true }),
    ).toBe(true);
    expect(await admin.listTopics()).toContain(topic);

    producer = kafka.producer();
    await producer.connect();
    const sent = ['popcorn', 'nachos', 'soda'].map((value, i) => ({ key: `k${i}`, value }));
    await producer.send({ topic, messages: sent });

    consumer = kafka.consumer({ groupId: `stack-test-group-${suffix}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: Array<{ key: string; value: string }> = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only got ${JSON.stringify(received)}`)),
        60_000,
      );
      void consumer!.run({
        eachMessage: async ({ message }) => {
          received.push({ key: message.key!.toString(), value: message.value!.toString() });
          if (received.length === sent.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    expect([...received].sort((a, b) => a.key.localeCompare(b.key))).toEqual(sent);

    const offsets = await admin.fetchOffsets({
      groupId: `stack-test-group-${suffix}`,
      topics: [topic],
    });
    expect(offsets).toHaveLength(1);
  });
});
