/**
 * The `<prefix>.ugc-events` queue (quorum, retry ladder, DLQ: amqp.ts), bound to ugc-api's
 * `ugc.events` exchange by `review.liked`; each like is counted into its review's hourly digest.
 * No message id, a body that is not JSON or a malformed payload: DLQ.
 */
import { UGC_ROUTING_KEYS, type ReviewLikesDigest } from '../domain/review-likes';
import { QueueConsumer } from './amqp';
import { parseJsonMessage } from './auth-events.consumer';
import type { EventsConsumerOptions } from './catalog-events.consumer';

export function createUgcEventsConsumer(
  o: EventsConsumerOptions & { digest: ReviewLikesDigest },
): QueueConsumer {
  return new QueueConsumer({
    connection: o.connection,
    prefetch: o.prefetch,
    logger: o.logger,
    spec: {
      queue: `${o.queuePrefix}.ugc-events`,
      exchange: o.exchange,
      routingKeys: [...UGC_ROUTING_KEYS],
      retryDelaysMs: o.retryDelaysMs,
    },
    handle: async (message) => {
      const payload = parseJsonMessage(message);
      await o.digest.handle({
        messageId: message.messageId!,
        routingKey: message.routingKey,
        payload,
      });
    },
  });
}
