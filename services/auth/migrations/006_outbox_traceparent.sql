-- The W3C traceparent of the request that wrote an event (null: written outside a trace); the
-- outbox relay publishes the message in that trace (packages/outbox, issue 16).
ALTER TABLE outbox ADD COLUMN traceparent text;
