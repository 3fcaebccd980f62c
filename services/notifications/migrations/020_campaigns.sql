-- Mass and scheduled sends. A campaign's audience is resolved once, when it is created, into
-- campaign_recipients (each with the instant it is due: the campaign's, or the wall-clock time in
-- the recipient's time zone); the job runner (pg-boss, its own schema) plans the deliveries of the
-- due recipients in batches through the notifier, so a campaign's deliveries are ordinary rows of
-- `deliveries` (message id `campaign:<id>`, campaign_id set) and each recipient gets each channel
-- once (the deliveries' unique key).

CREATE TABLE campaigns (
  id           bigserial PRIMARY KEY,
  title        text NOT NULL,
  category     text NOT NULL,
  channels     text[] NOT NULL,
  -- A named template, or an ad-hoc subject and body (sent through the `message` template).
  template     text NOT NULL,
  subject      text,
  body         text,
  vars         jsonb NOT NULL DEFAULT '{}',
  audience     jsonb NOT NULL,
  send_at      timestamptz NOT NULL,
  -- The wall-clock time (YYYY-MM-DDTHH:MM) in each recipient's time zone, or null.
  local_time   text,
  state        text NOT NULL CHECK (state IN ('scheduled', 'running', 'paused', 'finished', 'cancelled')),
  total        integer NOT NULL,
  created_by   uuid NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  finished_at  timestamptz,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_active ON campaigns (state) WHERE state IN ('scheduled', 'running');

CREATE TABLE campaign_recipients (
  campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  user_id     uuid NOT NULL,
  due_at      timestamptz NOT NULL,
  planned_at  timestamptz,
  -- Why the notifier refused to plan this recipient (then planned_at is set too).
  error       text,
  PRIMARY KEY (campaign_id, user_id)
);
CREATE INDEX campaign_recipients_due ON campaign_recipients (campaign_id, due_at, user_id)
  WHERE planned_at IS NULL;

-- Queued deliveries of a paused campaign: their not_before is 'infinity' while paused (the
-- delivery worker does not take them); the original instant waits here for the resume.
CREATE TABLE campaign_held (
  delivery_id bigint PRIMARY KEY,
  campaign_id bigint NOT NULL,
  not_before  timestamptz NOT NULL
);
CREATE INDEX campaign_held_campaign ON campaign_held (campaign_id);
