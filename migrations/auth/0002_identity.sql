-- Users, refresh-token families, API keys, signing keys and the audit log of the auth service.

CREATE TABLE auth.users (
	id            uuid PRIMARY KEY,
	email         text NOT NULL,
	password_hash text NOT NULL,            -- Argon2id, libsodium's crypto_pwhash_str format
	name          text NOT NULL DEFAULT '',
	roles         text[] NOT NULL DEFAULT ARRAY['researcher'],
	disabled      boolean NOT NULL DEFAULT false,
	created_at    timestamptz NOT NULL DEFAULT now(),
	updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Emails are compared case-insensitively: one account per address however it is typed.
CREATE UNIQUE INDEX users_email_key ON auth.users (lower(email));

-- One row per refresh token. Tokens of one login share a family; presenting a token that was
-- already used revokes the whole family (reuse detection).
CREATE TABLE auth.refresh_tokens (
	id          uuid PRIMARY KEY,
	family_id   uuid NOT NULL,
	user_id     uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
	token_hash  text NOT NULL UNIQUE,      -- SHA-256 hex of the opaque token
	created_at  timestamptz NOT NULL DEFAULT now(),
	expires_at  timestamptz NOT NULL,
	used_at     timestamptz,
	revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON auth.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON auth.refresh_tokens (user_id);

CREATE TABLE auth.api_keys (
	id           uuid PRIMARY KEY,
	user_id      uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
	name         text NOT NULL,
	prefix       text NOT NULL UNIQUE,     -- the key's public part, shown in lists
	key_hash     text NOT NULL UNIQUE,     -- SHA-256 hex of the whole key
	scopes       text[] NOT NULL,
	created_at   timestamptz NOT NULL DEFAULT now(),
	expires_at   timestamptz,
	last_used_at timestamptz,
	revoked_at   timestamptz
);
CREATE INDEX api_keys_user_idx ON auth.api_keys (user_id);

-- JWT signing keys, shared by every auth replica. The newest unretired key signs; a retired
-- key stays published in the JWKS until the tokens it signed have expired.
CREATE TABLE auth.signing_keys (
	kid         text PRIMARY KEY,
	alg         text NOT NULL,
	private_pem text NOT NULL,
	public_pem  text NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	retired_at  timestamptz
);

-- The audit trail, written from the strata.audit topic; the event id makes redelivery harmless.
CREATE TABLE auth.audit_log (
	event_id   uuid PRIMARY KEY,
	at         timestamptz NOT NULL,
	type       text NOT NULL,
	subject    text NOT NULL DEFAULT '',
	actor      text NOT NULL DEFAULT '',
	remote     text NOT NULL DEFAULT '',
	request_id text NOT NULL DEFAULT '',
	data       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON auth.audit_log (at);
CREATE INDEX audit_log_subject_idx ON auth.audit_log (subject, at);
