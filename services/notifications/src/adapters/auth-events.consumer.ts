/**
 * The `<prefix>.auth-events` queue, bound to auth's `auth.events` exchange by the routing keys
 * notifications reads; each message is parsed and handed to the auth events handler. A body that
 * is not JSON, or has no message id (the idempotency key), goes to the DLQ at once.
 */
import type { Logger } from '@cinema/logging';
import { AUTH_ROUTING_KEYS, type AuthEventsHandler } from '../domain/auth-events';
import {
  PoisonMessageError,
  QueueConsumer,
  type AmqpConnection,
  type IncomingMessage,
} from './amqp';

export interface AuthEventsConsumerOptions {
  connection: AmqpConnection;
  exchange: string;
  queuePrefix: string;
  retryDelaysMs: number[];
  prefetch: number;
  logger: Logger;
  handler: AuthEventsHandler;
}

export function parseJsonMessage(message: IncomingMessage): unknown {
  if (!message.messageId) throw new PoisonMessageError('no message_id (the idempotency key)');
  try {
    return JSON.parse(message.body.toString('utf8'));
  } catch {
    throw new PoisonMessageError('the body is not JSON');
  }
}

export function createAuthEventsConsumer(o: AuthEventsConsumerOptions): QueueConsumer {
  return new QueueConsumer({
    connection: o.connection,
    prefetch: o.prefetch,
    logger: o.logger,
    spec: {
      queue: `${o.queuePrefix}.auth-events`,
      exchange: o.exchange,
      routingKeys: [...AUTH_ROUTING_KEYS],
      retryDelaysMs: o.retryDelaysMs,
    },
    handle: async (message) => {
      const payload = parseJsonMessage(message);
      await o.handler.handle({
        messageId: message.messageId!,
        routingKey: message.routingKey,
        occurredAt: message.timestamp ? new Date(message.timestamp * 1000) : new Date(),
        payload,
      });
    },
  });
}
