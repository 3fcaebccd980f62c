/**
 * The transactional outbox, shared by every service that publishes events: the service writes
 * the event in the same transaction (or the same document write) as the change it announces, and
 * an `OutboxRelay` drains what waits to a RabbitMQ topic exchange. Messages go persistent on a
 * confirm channel with `message_id` = the event's id, and are marked published only after the
 * broker confirmed them; while RabbitMQ is unreachable they wait and the relay retries with
 * backoff, so nothing is lost. Delivery is at least once: consumers dedupe on `message_id`.
 * A row may carry the `traceparent` of the request that wrote it; the message is published in
 * that trace (trace.ts).
 */
export * from './relay';
export * from './pg.store';
export * from './trace';
