/**
 * The consumer's retry ladder on the real RabbitMQ: a failing message goes through the delay
 * queues (TTL, dead-lettered back) with its attempt counted, and to the DLQ with the reason after
 * the last; a message that succeeds on a retry is handled once.
 */
import { randomUUID } from 'node:crypto';
import * as amqp from 'amqplib';
import { createLogger } from '@cinema/logging';
import { suffix, waitFor } from '@cinema/testing';
import {
  AmqpConnection,
  QueueConsumer,
  publishJson,
  type IncomingMessage,
} from '../src/adapters/amqp';

const logger = createLogger({ service: 'amqp-test', level: 'silent' });
let connection: AmqpConnection;
let client: amqp.ChannelModel;
let channel: amqp.ConfirmChannel;
const cleanup: string[] = [];
const exchanges: string[] = [];

beforeAll(async () => {
  connection = new AmqpConnection(process.env.AMQP_URL!, logger);
  await connection.start();
  client = await amqp.connect(process.env.AMQP_URL!);
  channel = await client.createConfirmChannel();
});

afterAll(async () => {
  for (const q of cleanup) await channel.deleteQueue(q).catch(() => undefined);
  for (const e of exchanges) await channel.deleteExchange(e).catch(() => undefined);
  await client.close();
  await connection.close();
});

function consumer(handle: (m: IncomingMessage) => Promise<void>) {
  const id = suffix();
  const exchange = `test.ladder.${id}`;
  exchanges.push(exchange);
  const c = new QueueConsumer({
    connection,
    prefetch: 5,
    logger,
    spec: {
      queue: `test.ladder.${id}.q`,
      exchange,
      routingKeys: ['thing.#'],
      retryDelaysMs: [200, 400],
    },
    handle,
  });
  cleanup.push(c.names.work, ...c.names.retries, c.names.dlq);
  return { c, exchange };
}

test('a message failing twice succeeds on the third try, each attempt counted, handled once', async () => {
  const seen: Array<{ attempt: number; routingKey: string; messageId?: string }> = [];
  const { c, exchange } = consumer(async (m) => {
    seen.push({ attempt: m.attempt, routingKey: m.routingKey, messageId: m.messageId });
    if (m.attempt < 2) throw new Error('database down');
  });
  await c.start();
  const messageId = randomUUID();
  const t0 = Date.now();
  await publishJson(channel, exchange, 'thing.happened', { a: 1 }, { messageId });
  await waitFor(async () => c.stats.handled === 1, 10_000);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(550); // 200 ms + 400 ms in the delay queues
  expect(seen).toEqual([
    { attempt: 0, routingKey: 'thing.happened', messageId },
    { attempt: 1, routingKey: 'thing.happened', messageId },
    { attempt: 2, routingKey: 'thing.happened', messageId },
  ]);
  expect(c.stats).toMatchObject({ handled: 1, retried: 2, deadLettered: 0 });
  await c.stop();
});

test('after the last retry: the DLQ, with the reason and the original routing key', async () => {
  const { c, exchange } = consumer(async () => {
    throw new Error('SMTP relay refuses');
  });
  await c.start();
  await publishJson(channel, exchange, 'thing.failed', { b: 2 }, { messageId: 'm-1' });
  await waitFor(async () => c.stats.deadLettered === 1, 10_000);
  const dead = await channel.get(c.names.dlq, { noAck: true });
  expect(dead).toBeTruthy();
  const m = dead as amqp.GetMessage;
  expect(JSON.parse(m.content.toString())).toEqual({ b: 2 });
  expect(m.properties.messageId).toBe('m-1');
  expect(m.properties.headers).toMatchObject({
    'x-attempt': 3,
    'x-routing-key': 'thing.failed',
    'x-death-reason': 'retries exhausted: SMTP relay refuses',
    'x-failed-queue': c.names.work,
  });
  await c.stop();
});

test('the connection is re-established after a network loss and the consumer resumes', async () => {
  const seen: string[] = [];
  const { c, exchange } = consumer(async (m) => {
    seen.push(m.messageId!);
  });
  await c.start();
  await publishJson(channel, exchange, 'thing.before', {}, { messageId: 'before' });
  await waitFor(async () => seen.includes('before'));
  // The socket dies under the client (as when the broker restarts or the network drops).
  const live = (
    connection as unknown as { connection: { connection: { stream: { destroy(e: Error): void } } } }
  ).connection;
  live.connection.stream.destroy(new Error('simulated network loss'));
  await waitFor(async () => !connection.connected, 5_000);
  // Published while the consumer is away: waits in the quorum queue.
  await publishJson(channel, exchange, 'thing.during', {}, { messageId: 'during' });
  await waitFor(async () => connection.connected, 15_000);
  await waitFor(async () => seen.includes('during'), 15_000);
  await c.stop();
});
