-- Genre opt-ins (the "new film" announcements and the campaigns' `genres` audience) and the
-- hourly digests of review likes. Unqualified names: the pool's search_path is the service's schema.

-- A user follows a genre: `genre` is its name as in the catalog (what campaigns select by),
-- `genre_id` its catalog id when known (film.published carries both; a renamed genre still
-- matches by id).
CREATE TABLE genre_subscriptions (
  user_id    uuid NOT NULL,
  genre      text NOT NULL CHECK (length(genre) BETWEEN 1 AND 100),
  genre_id   uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, genre)
);
CREATE INDEX genre_subscriptions_name ON genre_subscriptions (lower(genre));
CREATE INDEX genre_subscriptions_id ON genre_subscriptions (genre_id) WHERE genre_id IS NOT NULL;

-- review.liked messages seen (idempotency: a redelivered or republished like counts once).
CREATE TABLE review_like_messages (
  message_id  text PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now()
);

-- One digest window per review: opened by the first like, closed `REVIEW_LIKES_DIGEST_MS` later
-- (or by the first like after that), then one in-app notice with the number of people.
CREATE TABLE review_like_windows (
  id          bigserial PRIMARY KEY,
  review_id   text NOT NULL,
  author_id   uuid NOT NULL,
  film_id     text NOT NULL,
  opened_at   timestamptz NOT NULL,
  closes_at   timestamptz NOT NULL,
  -- Set when the window closes: the number of distinct likers, frozen.
  closed_at   timestamptz,
  likers      integer,
  notified_at timestamptz
);
CREATE UNIQUE INDEX review_like_windows_open ON review_like_windows (review_id) WHERE closed_at IS NULL;
CREATE INDEX review_like_windows_due ON review_like_windows (closes_at) WHERE closed_at IS NULL;
CREATE INDEX review_like_windows_unsent ON review_like_windows (id)
  WHERE closed_at IS NOT NULL AND notified_at IS NULL;

CREATE TABLE review_likes (
  window_id bigint NOT NULL REFERENCES review_like_windows (id) ON DELETE CASCADE,
  liker_id  uuid NOT NULL,
  PRIMARY KEY (window_id, liker_id)
);

-- A user who is forgotten (recipients.deleted_at set by user.deleted) follows nothing any more.
CREATE FUNCTION genre_subscriptions_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('DELETE FROM %I.genre_subscriptions WHERE user_id = $1', TG_TABLE_SCHEMA)
    USING NEW.user_id;
  RETURN NULL;
END $$;
CREATE TRIGGER recipients_forget_genres AFTER INSERT OR UPDATE OF deleted_at ON recipients
  FOR EACH ROW WHEN (NEW.deleted_at IS NOT NULL) EXECUTE FUNCTION genre_subscriptions_forget();
