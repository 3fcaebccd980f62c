-- Account deletion (issue 14: `user.deleted`). The row stays, emptied of personal data, so the
-- session revocation feed and foreign keys keep working; the address is freed for a new account.
ALTER TABLE users ADD COLUMN deleted_at timestamptz;
