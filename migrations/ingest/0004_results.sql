-- Diagnosis results of sessions: the scored summary (one per session; a new upload replaces it)
-- and the rows of the uploaded file, kept so that a result can be scored again with other
-- category weights.

CREATE TABLE ingest.session_results (
	session_id uuid PRIMARY KEY REFERENCES ingest.sessions (id) ON DELETE CASCADE,
	rows       integer NOT NULL CHECK (rows > 0),
	score      double precision NOT NULL CHECK (score >= 0 AND score <= 100),
	summary    jsonb NOT NULL,  -- the answer of GET .../results without its times
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ingest.result_items (
	session_id  uuid NOT NULL REFERENCES ingest.session_results (session_id) ON DELETE CASCADE,
	item        text NOT NULL,
	line        integer NOT NULL,   -- where it stood in the file
	category    text NOT NULL,
	response    text NOT NULL DEFAULT '',
	correct     boolean NOT NULL,
	reaction_ms double precision NOT NULL CHECK (reaction_ms >= 0),
	PRIMARY KEY (session_id, item)
);
