-- The catch-up of the session revocation feed reads the sessions ended recently
-- (GET /api/v1/auth/revocations?since=).
CREATE INDEX IF NOT EXISTS sessions_revoked_at_idx ON sessions (revoked_at)
  WHERE revoked_at IS NOT NULL;
