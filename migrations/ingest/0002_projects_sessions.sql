-- Projects and their members, subjects (patients, participants) and sessions of the ingest
-- service. Readings live in their own partitioned table (a later migration); they refer to a
-- session by id without a foreign key, so that bulk loads pay no per-row check.

CREATE TABLE ingest.projects (
	id          uuid PRIMARY KEY,
	name        text NOT NULL,
	description text NOT NULL DEFAULT '',
	settings    jsonb NOT NULL DEFAULT '{}'::jsonb,  -- e.g. {"category_weights": {...}}
	created_by  uuid NOT NULL,                       -- auth user id
	created_at  timestamptz NOT NULL DEFAULT now(),
	updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_created_idx ON ingest.projects (created_at, id);

-- Who may do what in a project: owner (everything, members too), member (read and write),
-- viewer (read). Users are auth's; no foreign key across schemas.
CREATE TABLE ingest.project_members (
	project_id uuid NOT NULL REFERENCES ingest.projects (id) ON DELETE CASCADE,
	user_id    uuid NOT NULL,
	role       text NOT NULL CHECK (role IN ('owner', 'member', 'viewer')),
	added_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user_idx ON ingest.project_members (user_id);

CREATE TABLE ingest.subjects (
	id           uuid PRIMARY KEY,
	project_id   uuid NOT NULL REFERENCES ingest.projects (id) ON DELETE CASCADE,
	external_id  text NOT NULL,
	display_name text NOT NULL DEFAULT '',
	birth_year   integer CHECK (birth_year BETWEEN 1850 AND 2200),
	sex          text CHECK (sex IN ('female', 'male', 'other', 'unknown')),
	metadata     jsonb NOT NULL DEFAULT '{}'::jsonb,
	created_at   timestamptz NOT NULL DEFAULT now(),
	updated_at   timestamptz NOT NULL DEFAULT now(),
	UNIQUE (project_id, external_id)
);
CREATE INDEX subjects_project_idx ON ingest.subjects (project_id, created_at, id);

-- A session: created -> running -> stopped -> completed, or failed from any open state.
CREATE TABLE ingest.sessions (
	id          uuid PRIMARY KEY,
	project_id  uuid NOT NULL REFERENCES ingest.projects (id) ON DELETE CASCADE,
	subject_id  uuid REFERENCES ingest.subjects (id) ON DELETE SET NULL,
	device      text,
	status      text NOT NULL DEFAULT 'created'
	            CHECK (status IN ('created', 'running', 'stopped', 'completed', 'failed')),
	metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
	created_by  uuid NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	updated_at  timestamptz NOT NULL DEFAULT now(),
	started_at  timestamptz,
	stopped_at  timestamptz
);
CREATE INDEX sessions_project_idx ON ingest.sessions (project_id, created_at, id);
CREATE INDEX sessions_status_idx ON ingest.sessions (status, created_at, id);
