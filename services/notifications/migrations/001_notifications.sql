-- The recipients projection (fed by auth.events, back-filled once from auth's admin API), the
-- preferences, the deliveries (one row per message x channel x recipient: the idempotency key) and
-- the in-app inbox. Unqualified names: the pool's search_path is the service's schema.

CREATE TABLE recipients (
  user_id        uuid PRIMARY KEY,
  email          text,
  email_verified boolean NOT NULL DEFAULT false,
  locale         text NOT NULL DEFAULT 'en',
  time_zone      text NOT NULL DEFAULT 'UTC',
  phone          text,
  phone_verified boolean NOT NULL DEFAULT false,
  first_name     text,
  roles          text[] NOT NULL DEFAULT '{}',
  -- Quiet hours in the user's local time (both or neither).
  quiet_start    time,
  quiet_end      time,
  deleted_at     timestamptz,
  -- Time of the newest event applied: an older, redelivered event changes nothing.
  event_at       timestamptz NOT NULL DEFAULT '-infinity',
  updated_at     timestamptz NOT NULL DEFAULT now(),
  CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);
CREATE INDEX recipients_email ON recipients (lower(email));

CREATE TABLE preferences (
  user_id  uuid NOT NULL REFERENCES recipients (user_id) ON DELETE CASCADE,
  category text NOT NULL,
  channel  text NOT NULL,
  enabled  boolean NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, category, channel)
);

CREATE TABLE deliveries (
  id          bigserial PRIMARY KEY,
  message_id  text NOT NULL,
  channel     text NOT NULL CHECK (channel IN ('email', 'sms', 'in_app')),
  recipient   uuid NOT NULL,
  category    text NOT NULL,
  template    text NOT NULL,
  locale      text NOT NULL DEFAULT 'en',
  -- Template variables; secrets (links with tokens) are removed once sent or failed.
  vars        jsonb NOT NULL DEFAULT '{}',
  -- 0 transactional (reset, verification, security alert) ... 9 bulk: lower goes first.
  priority    smallint NOT NULL DEFAULT 5,
  status      text NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'skipped')),
  reason      text,
  attempts    integer NOT NULL DEFAULT 0,
  not_before  timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz,
  address     text,
  campaign_id bigint,
  created_at  timestamptz NOT NULL DEFAULT now(),
  sent_at     timestamptz,
  UNIQUE (message_id, channel, recipient)
);
CREATE INDEX deliveries_due ON deliveries (channel, priority, not_before, id) WHERE status = 'queued';
CREATE INDEX deliveries_sending ON deliveries (locked_until) WHERE status = 'sending';
CREATE INDEX deliveries_recipient ON deliveries (recipient, created_at DESC);
CREATE INDEX deliveries_campaign ON deliveries (campaign_id, status) WHERE campaign_id IS NOT NULL;

CREATE TABLE inbox (
  id         bigserial PRIMARY KEY,
  user_id    uuid NOT NULL,
  message_id text NOT NULL,
  category   text NOT NULL,
  title      text NOT NULL,
  body       text NOT NULL,
  link       text,
  data       jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  read_at    timestamptz,
  UNIQUE (user_id, message_id)
);
CREATE INDEX inbox_user ON inbox (user_id, id DESC);
CREATE INDEX inbox_unread ON inbox (user_id) WHERE read_at IS NULL;

-- New items wake the open streams of every replica (LISTEN "<schema>.inbox"), after commit.
CREATE FUNCTION inbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_TABLE_SCHEMA || '.inbox',
                    json_build_object('user_id', NEW.user_id, 'id', NEW.id)::text);
  RETURN NEW;
END $$;
CREATE TRIGGER inbox_notify AFTER INSERT ON inbox FOR EACH ROW EXECUTE FUNCTION inbox_notify();
