-- Durable state of catalog-etl: where each stream stopped, so a restart resumes there.
-- Keyset streams (film_work, genre, person) keep (modified, id) of the last row indexed;
-- the tombstone stream keeps the last seq applied.
CREATE TABLE IF NOT EXISTS catalog_etl.state (
  stream          text PRIMARY KEY,
  cursor_modified timestamptz,
  cursor_id       uuid,
  cursor_seq      bigint,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
