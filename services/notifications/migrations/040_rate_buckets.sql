-- The delivery channels' token buckets, shared by every replica of the service: each worker
-- takes tokens here before it claims deliveries, so EMAIL_RATE_PER_SECOND / SMS_RATE_PER_SECOND
-- hold for the whole deployment, not per process. Refilled from the database's clock (one clock
-- for all replicas). `tokens` is fractional: a bucket refills continuously.
CREATE TABLE IF NOT EXISTS rate_buckets (
  channel    text PRIMARY KEY,
  tokens     double precision NOT NULL,
  updated_at timestamptz NOT NULL
);

INSERT INTO rate_buckets (channel, tokens, updated_at)
VALUES ('email', 0, clock_timestamp()), ('sms', 0, clock_timestamp())
ON CONFLICT (channel) DO NOTHING;
