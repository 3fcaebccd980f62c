-- The W3C traceparent of the request that wrote an event (null: written outside a trace); the
-- outbox publisher sends the message in that trace (packages/outbox, issue 16).
ALTER TABLE content.outbox ADD COLUMN traceparent text;
