-- The purge loop works the queue round-robin: each row records when it was last worked, so
-- that sessions already emptied (kept an hour for late readings) never crowd out new ones.
ALTER TABLE ingest.purged_sessions ADD COLUMN checked_at timestamptz;
CREATE INDEX purged_sessions_round_idx ON ingest.purged_sessions (checked_at NULLS FIRST, queued_at);
