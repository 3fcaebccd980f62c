/**
 * The `<prefix>.catalog-events` queue (quorum, retry ladder, DLQ: amqp.ts), bound to
 * catalog-admin's `catalog.events` exchange by `film.published`; each message goes to the
 * catalog events handler. No message id, a body that is not JSON or a malformed payload: DLQ.
 */
import type { Logger } from '@cinema/logging';
import { CATALOG_ROUTING_KEYS, type CatalogEventsHandler } from '../domain/catalog-events';
import { QueueConsumer, type AmqpConnection } from './amqp';
import { parseJsonMessage } from './auth-events.consumer';

export interface EventsConsumerOptions {
  connection: AmqpConnection;
  exchange: string;
  queuePrefix: string;
  retryDelaysMs: number[];
  prefetch: number;
  logger: Logger;
}

export function createCatalogEventsConsumer(
  o: EventsConsumerOptions & { handler: CatalogEventsHandler },
): QueueConsumer {
  return new QueueConsumer({
    connection: o.connection,
    prefetch: o.prefetch,
    logger: o.logger,
    spec: {
      queue: `${o.queuePrefix}.catalog-events`,
      exchange: o.exchange,
      routingKeys: [...CATALOG_ROUTING_KEYS],
      retryDelaysMs: o.retryDelaysMs,
    },
    handle: async (message) => {
      const payload = parseJsonMessage(message);
      await o.handler.handle({
        messageId: message.messageId!,
        routingKey: message.routingKey,
        payload,
      });
    },
  });
}
