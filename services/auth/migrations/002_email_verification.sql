-- E-mail verification and e-mail change (issue 13, items 2 and 6).
-- Accounts made before verification existed stay unverified (a link can be asked for again),
-- except those created through an OpenID provider, which vouched for the address.
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;
UPDATE users SET email_verified = true
  WHERE password_hash IS NULL AND id IN (SELECT user_id FROM social_accounts);

-- Single-use links sent by mail, stored hashed: `verify` proves the account's address,
-- `email_change` proves the new address of a pending change (`email` is the address the link
-- was sent to). A newer link of the same purpose ends the older ones.
CREATE TABLE email_tokens (
  token_hash bytea PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose    text NOT NULL CHECK (purpose IN ('verify', 'email_change')),
  email      text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at    timestamptz
);
CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose);
