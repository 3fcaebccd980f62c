-- Transactional outbox of the catalog's events (docs/contracts.md, exchange `catalog.events`):
-- a row is written in the transaction that changes the catalog; the outbox publisher relays it
-- to RabbitMQ with publisher confirms and marks it published (message_id = the row's id).
CREATE TABLE content.outbox (
  id           uuid PRIMARY KEY,
  routing_key  text NOT NULL,
  payload      jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  attempts     integer NOT NULL DEFAULT 0,
  last_error   text
);
CREATE INDEX outbox_pending_idx ON content.outbox (created_at, id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_idx ON content.outbox (published_at) WHERE published_at IS NOT NULL;

-- Films announced (`film.published`), once each: a film created with a release date or first
-- given one. Kept after the outbox row is cleaned up, so removing and setting the date again
-- announces nothing twice.
CREATE TABLE content.film_announcement (
  film_id    uuid PRIMARY KEY REFERENCES content.film_work (id) ON DELETE CASCADE,
  message_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
