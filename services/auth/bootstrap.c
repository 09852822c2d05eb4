/*
 * `strata-auth bootstrap-admin`: the first administrator, made from the environment
 * (DATABASE_URL, STRATA_ADMIN_EMAIL, STRATA_ADMIN_PASSWORD) before anyone can sign in.
 * compose/local/seed.sh runs it on every `make up`, so it is idempotent: an account with that
 * email (in any case) is left as it is, and the unique index settles two runs at once. It
 * prints one line and never the password; an audit row records the creation.
 *
 * Exit codes: 0 created or already there, 2 a setting is missing or the password fails the
 * policy, 1 the database could not be used (not migrated, unreachable).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "strata/db.h"
#include "strata/log.h"

#define ME "strata-auth bootstrap-admin"

/* A setting from the environment, NULL when unset or empty. */
static const char *
setting(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Says whether the account exists (and whether it holds admin). 0 when it does not. */
static int
existing(struct st_db_pool *db, const char *email, bool *found)
{
	const char *params[] = { email };
	struct st_db_result *res = NULL;
	char err[256];
	enum st_err rc;

	*found = false;
	rc = st_db_pool_query(db,
			      "SELECT 'admin' = ANY (roles) FROM users WHERE lower(email) = "
			      "lower($1)",
			      1, params, &res, err, sizeof(err));
	if (rc != ST_OK) {
		fprintf(stderr,
			"%s: cannot read auth.users (%s): %s; are the migrations applied?\n", ME,
			st_err_str(rc), err);
		return 1;
	}
	if (st_db_rows(res) > 0) {
		*found = true;
		printf("%s: %s already exists; left unchanged%s\n", ME, email,
		       strcmp(st_db_get(res, 0, 0), "t") == 0
			       ? ""
			       : " (note: it does not hold the admin role)");
	}
	st_db_result_free(res);
	return 0;
}

/* Inserts the admin and its audit row in one transaction. *created false: another run won. */
static enum st_err
create(struct st_db_pool *db, const char *email, const char *hash, bool *created, char *err,
       size_t errcap)
{
	char id[40], event[40];
	const char *user[] = { id, email, hash };
	const char *audit[] = { event, id };
	struct st_db_conn *conn = NULL;
	struct st_db_result *res = NULL;
	enum st_err rc;

	*created = false;
	st_uuid_v4(id, sizeof(id));
	st_uuid_v4(event, sizeof(event));
	rc = st_db_acquire_begin(db, &conn);
	if (rc == ST_OK)
		rc = st_db_query(conn,
				 "INSERT INTO users (id, email, password_hash, name, roles) "
				 "VALUES ($1, $2, $3, 'Administrator', ARRAY['admin']) "
				 "ON CONFLICT ((lower(email))) DO NOTHING",
				 3, user, &res, err, errcap);
	if (rc == ST_OK && st_db_affected(res) == 1) {
		*created = true;
		rc = st_db_query(conn,
				 "INSERT INTO audit_log (event_id, at, type, subject, actor, data) "
				 "VALUES ($1, now(), 'user.registered', $2, 'bootstrap-admin', "
				 "'{\"roles\": [\"admin\"]}')",
				 2, audit, NULL, err, errcap);
	}
	if (rc == ST_OK)
		rc = st_db_commit(conn);
	st_db_result_free(res);
	st_db_release(db, conn);
	return rc;
}

int
auth_bootstrap_admin(int argc, char **argv)
{
	const char *url = setting("DATABASE_URL");
	const char *email = setting("STRATA_ADMIN_EMAIL");
	const char *password = setting("STRATA_ADMIN_PASSWORD");
	struct st_db_conf conf = {
		.url = url,
		.schema = "auth",
		.application = "strata-auth-bootstrap",
		.size = 1,
		.checkout_timeout_ms = 5000,
		.connect_timeout_ms = 5000,
		.statement_timeout_ms = 30000,
	};
	struct st_db_pool *db = NULL;
	struct st_json_errs errs;
	char hash[AUTH_PASSWORD_HASH_CAP], err[256];
	bool found = false, created = false;
	enum st_err rc;
	int code = 2;

	(void)argv;
	st_log_init("auth", ST_LOG_WARN);
	if (argc > 2) {
		fprintf(stderr,
			"%s: takes no arguments; it reads DATABASE_URL, "
			"STRATA_ADMIN_EMAIL and STRATA_ADMIN_PASSWORD\n",
			ME);
		goto out;
	}
	for (const char *const *name = (const char *const[]){ "DATABASE_URL", "STRATA_ADMIN_EMAIL",
							      "STRATA_ADMIN_PASSWORD", NULL };
	     *name != NULL; name++) {
		if (setting(*name) == NULL) {
			fprintf(stderr, "%s: %s is not set\n", ME, *name);
			goto out;
		}
	}
	if (!auth_email_ok(email)) {
		fprintf(stderr, "%s: STRATA_ADMIN_EMAIL is not an email address\n", ME);
		goto out;
	}
	st_json_errs_init(&errs);
	if (!auth_password_policy(password, "STRATA_ADMIN_PASSWORD", &errs)) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s: STRATA_ADMIN_PASSWORD %s\n", ME, errs.items[i].detail);
		goto out;
	}
	code = 1;
	if (auth_passwords_init(1) != ST_OK)
		goto out;
	rc = st_db_pool_create(&conf, &db);
	if (rc != ST_OK) {
		fprintf(stderr, "%s: cannot connect to PostgreSQL (%s)\n", ME, st_err_str(rc));
		goto out;
	}
	code = existing(db, email, &found);
	if (code != 0 || found)
		goto out;
	code = 1;
	if (auth_password_hash(password, hash) != ST_OK)
		goto out;
	rc = create(db, email, hash, &created, err, sizeof(err));
	sodium_memzero(hash, sizeof(hash));
	if (rc != ST_OK) {
		fprintf(stderr, "%s: cannot create the admin (%s): %s\n", ME, st_err_str(rc), err);
		goto out;
	}
	if (created)
		printf("%s: %s created with the admin role\n", ME, email);
	else
		printf("%s: %s already exists; left unchanged\n", ME, email);
	code = 0;
out:
	st_db_pool_destroy(db);
	auth_passwords_fini();
	return code;
}
