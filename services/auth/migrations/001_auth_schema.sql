-- Auth service schema. Objects are created unqualified: the service's pool sets
-- `search_path` to its schema (`AUTH_DB_SCHEMA`, default `auth`), so tests can use their own.

CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  password_hash text,
  first_name    text,
  last_name     text,
  is_active     boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE roles (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_]{1,49}$'),
  description text NOT NULL DEFAULT '',
  system      boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO roles (name, description, system) VALUES
  ('public_user', 'Every registered user', true),
  ('admin', 'Administrators: catalog, notifications, roles', true),
  ('super_user', 'Everything; cannot be demoted by an admin', true);

CREATE TABLE user_roles (
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role_id    uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
  granted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role_idx ON user_roles (role_id);

-- Accounts at external identity providers linked to a user.
CREATE TABLE social_accounts (
  provider   text NOT NULL,
  subject    text NOT NULL,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  email      text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, subject)
);
CREATE INDEX social_accounts_user_idx ON social_accounts (user_id);

-- A login session: one refresh-token family.
CREATE TABLE sessions (
  id             uuid PRIMARY KEY,
  user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  device_type    text NOT NULL,
  user_agent     text,
  ip             text,
  method         text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_used_at   timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  revoked_at     timestamptz,
  revoked_reason text
);
CREATE INDEX sessions_user_idx ON sessions (user_id, created_at DESC);

-- Refresh tokens, stored as SHA-256 hashes; rotated on every use.
CREATE TABLE refresh_tokens (
  token_hash  bytea PRIMARY KEY,
  session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Single-use password reset tokens (hashed).
CREATE TABLE password_reset_tokens (
  token_hash bytea PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at    timestamptz
);
CREATE INDEX password_reset_tokens_user_idx ON password_reset_tokens (user_id);

-- Devices a user has logged in from, to tell a new device.
CREATE TABLE known_devices (
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  fingerprint text NOT NULL,
  first_seen  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, fingerprint)
);

-- Login history, partitioned by device type (LIST), one partition per type.
CREATE TABLE login_history (
  id          uuid NOT NULL DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL,
  device_type text NOT NULL,
  success     boolean NOT NULL,
  method      text NOT NULL,
  user_agent  text,
  ip          text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, device_type)
) PARTITION BY LIST (device_type);
CREATE TABLE login_history_web PARTITION OF login_history FOR VALUES IN ('web');
CREATE TABLE login_history_mobile PARTITION OF login_history FOR VALUES IN ('mobile');
CREATE TABLE login_history_smart_tv PARTITION OF login_history FOR VALUES IN ('smart_tv');
CREATE TABLE login_history_tablet PARTITION OF login_history FOR VALUES IN ('tablet');
CREATE TABLE login_history_other PARTITION OF login_history FOR VALUES IN ('other');
CREATE INDEX login_history_user_idx ON login_history (user_id, created_at DESC, id);

-- Signing keys of access tokens. The private key is encrypted when a key-encryption secret is
-- configured. `retired_at`: no longer signs; still published until `expires_at`.
CREATE TABLE signing_keys (
  kid         text PRIMARY KEY,
  alg         text NOT NULL,
  public_jwk  jsonb NOT NULL,
  private_key text NOT NULL,
  encrypted   boolean NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  retired_at  timestamptz,
  expires_at  timestamptz
);

-- Transactional outbox of events to RabbitMQ.
CREATE TABLE outbox (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  routing_key  text NOT NULL,
  payload      jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_at timestamptz,
  attempts     int NOT NULL DEFAULT 0,
  last_error   text
);
CREATE INDEX outbox_pending_idx ON outbox (created_at) WHERE published_at IS NULL;
