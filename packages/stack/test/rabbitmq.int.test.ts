import * as amqp from 'amqplib';

describe('rabbitmq (local stack)', () => {
  let conn: amqp.ChannelModel;

  beforeAll(async () => {
    conn = await amqp.connect(process.env.AMQP_URL!);
  });
  afterAll(() => conn.close());

  it('publishes a persistent message with confirms and consumes it', async () => {
    const queue = `stack-test-${process.pid}-${Date.now()}`;
    const channel = await conn.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true });
    const body = JSON.stringify({ event: 'ticket.purchased', seat: 'F12' });

    await new Promise<void>((resolve, reject) => {
      channel.sendToQueue(
        queue,
        Buffer.from(body),
        { persistent: true, contentType: 'application/json', messageId: 'm-1' },
        (err) => (err ? reject(err) : resolve()),
      );
    });
    await channel.waitForConfirms();

    const received = await new Promise<amqp.ConsumeMessage>((resolve) => {
      void channel.consume(queue, (msg) => {
        if (msg) {
          channel.ack(msg);
          resolve(msg);
        }
      });
    });
    expect(received.content.toString()).toBe(body);
    expect(received.properties.deliveryMode).toBe(2);
    expect(received.properties.messageId).toBe('m-1');
    expect(received.properties.contentType).toBe('application/json');

    await channel.deleteQueue(queue);
    await channel.close();
  });
});
