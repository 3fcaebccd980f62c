/**
 * The service's event queues: `<prefix>.auth-events` (auth's `auth.events`),
 * `<prefix>.catalog-events` (catalog-admin's `catalog.events`: film.published) and
 * `<prefix>.ugc-events` (ugc-api's `ugc.events`: review.liked). Each is a quorum queue with its
 * retry ladder and DLQ (amqp.ts), bound by the routing keys its handler reads; each message is
 * parsed and handed to the handler. No message id (the idempotency key), a body that is not JSON,
 * or a malformed payload (the handler's PoisonMessageError): the DLQ at once, with the reason.
 */
import type { Logger } from '@cinema/logging';
import {
  PoisonMessageError,
  QueueConsumer,
  type AmqpConnection,
  type IncomingMessage,
} from './amqp';

export interface EventQueuesOptions {
  connection: AmqpConnection;
  queuePrefix: string;
  retryDelaysMs: number[];
  prefetch: number;
  logger: Logger;
}

export interface JsonEvent {
  messageId: string;
  routingKey: string;
  /** The message's AMQP timestamp, else the time it was read. */
  occurredAt: Date;
  payload: unknown;
}

export function parseJsonMessage(message: IncomingMessage): unknown {
  if (!message.messageId) throw new PoisonMessageError('no message_id (the idempotency key)');
  try {
    return JSON.parse(message.body.toString('utf8'));
  } catch {
    throw new PoisonMessageError('the body is not JSON');
  }
}

export function createEventsConsumer(
  o: EventQueuesOptions,
  queue: {
    /** `<prefix>.<name>` */
    name: string;
    exchange: string;
    routingKeys: readonly string[];
    handle(event: JsonEvent): Promise<unknown>;
  },
): QueueConsumer {
  return new QueueConsumer({
    connection: o.connection,
    prefetch: o.prefetch,
    logger: o.logger,
    spec: {
      queue: `${o.queuePrefix}.${queue.name}`,
      exchange: queue.exchange,
      routingKeys: [...queue.routingKeys],
      retryDelaysMs: o.retryDelaysMs,
    },
    handle: async (message) => {
      const payload = parseJsonMessage(message);
      await queue.handle({
        messageId: message.messageId!,
        routingKey: message.routingKey,
        occurredAt: message.timestamp ? new Date(message.timestamp * 1000) : new Date(),
        payload,
      });
    },
  });
}
