-- Sessions whose readings are to be deleted: a deleted project queues its sessions here in the
-- same statement, and a background loop of every ingest replica deletes their readings in
-- small steps (readings have no foreign key, and a project can hold millions of them). A row
-- stays an hour after its readings are gone, so that readings still in Kafka at the deletion
-- and written afterwards are deleted too.
CREATE TABLE ingest.purged_sessions (
	session_id uuid PRIMARY KEY,
	queued_at  timestamptz NOT NULL DEFAULT now()
);
