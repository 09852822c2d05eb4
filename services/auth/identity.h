/*
 * What the identity half of the auth service shares between its own files (users.c,
 * users_admin.c, passwords.c, lockout.c, audit.c, client.c, roles.c, bootstrap.c and
 * main.c). The interface with the tokens half is auth.h; nothing here is meant for it.
 */
#ifndef STRATA_AUTH_IDENTITY_H
#define STRATA_AUTH_IDENTITY_H

#include <sodium.h>

#include "auth.h"
#include "strata/json.h"

/* ---- passwords.c ---- */

/* Longest password accepted, in bytes (Argon2 takes more, but nobody types more). */
#define AUTH_PASSWORD_MAX_BYTES 128
/* Shortest password accepted, in characters (UTF-8 code points). */
#define AUTH_PASSWORD_MIN_CHARS 10
/* Room for a libsodium password hash string ("$argon2id$v=19$m=...") and its NUL. */
#define AUTH_PASSWORD_HASH_CAP crypto_pwhash_STRBYTES

/*
 * Initializes libsodium and the module: at most `concurrency` hashes or verifications run at
 * once (each takes crypto_pwhash_MEMLIMIT_INTERACTIVE, 64 MiB, of memory), and a dummy hash is
 * made for verifications of unknown accounts. ST_ERR_INTERNAL when libsodium cannot start.
 * Idempotent; call auth_passwords_fini once at the end.
 */
enum st_err auth_passwords_init(int concurrency);
void auth_passwords_fini(void);

/*
 * Checks password against the policy: at least AUTH_PASSWORD_MIN_CHARS characters, at most
 * AUTH_PASSWORD_MAX_BYTES bytes, valid UTF-8 without control characters, and characters of at
 * least two classes (lower case, upper case, digits, others). Records one error per broken
 * rule under `field` in errs. True when the password is acceptable.
 */
bool auth_password_policy(const char *password, const char *field, struct st_json_errs *errs);

/* Hashes password with Argon2id (libsodium's crypto_pwhash_str, interactive limits) into out.
 * ST_ERR_INTERNAL when libsodium fails (out of memory). Blocks for about 100 ms. */
enum st_err auth_password_hash(const char *password, char out[AUTH_PASSWORD_HASH_CAP]);

/*
 * True when password matches hash. hash NULL (no such account) verifies against a dummy hash
 * and returns false, so that the time taken does not tell which accounts exist.
 */
bool auth_password_verify(const char *hash, const char *password);

/* ---- lockout.c ---- */

/* The lockout's view of one login attempt. */
struct auth_attempt {
	char account[65]; /* SHA-256 hex of the lower-cased email */
	char addr[48];    /* the client's address */
};

/* Fills a from an email and the request's client address (see auth_client_addr). */
void auth_attempt_init(struct auth_attempt *a, const char *email, const char *addr);

/*
 * Returns true when the attempt is blocked, with the seconds until it may be tried again in
 * *retry_after_s. Redis down: false (fail open) with a warning logged.
 */
bool auth_lockout_blocked(struct st_app *app, const struct auth_attempt *a, int *retry_after_s);

/* What auth_lockout_failed decided. */
struct auth_lock {
	int account_s; /* > 0: the (account, address) pair is now blocked for this long */
	int addr_s;    /* > 0: the address is now blocked for this long */
};

/* Counts a failed attempt; fills lock (never NULL) with the blocks it caused. Fails open. */
void auth_lockout_failed(struct st_app *app, const struct auth_attempt *a, struct auth_lock *lock);

/* Forgets the failures of the (account, address) pair after a success. The address's count
 * across accounts stays: one good password must not wipe evidence of guessing at others. */
void auth_lockout_succeeded(struct st_app *app, const struct auth_attempt *a);

/* ---- audit.c ---- */

/* Starts and stops the queue between auth_audit and Kafka; fini delivers what is left. */
void auth_audit_init(void);
void auth_audit_fini(struct st_app *app);
/* The loop that delivers queued audit events to strata.audit in batches. */
void auth_audit_flush(struct st_app *app);

/* ---- roles.c ---- */

/* The role names, for messages. */
#define AUTH_ROLE_NAMES "admin, researcher, viewer, device"

/* ---- client.c ---- */

/* The client's address (st_http_client_addr): X-Real-IP, set by the gateway, only from a
 * trusted proxy (TRUSTED_PROXIES), else the peer's. Borrowed from the request. */
const char *auth_client_addr(struct st_req *req);

/* ---- users.c and users_admin.c ---- */

/* Longest email accepted, in bytes (RFC 5321's limit on a path). */
#define AUTH_EMAIL_MAX 254

/*
 * A plausible email address: one '@' with a non-empty local part of at most 64 bytes before
 * it, a domain of dot-separated non-empty labels with at least one dot after it, at most
 * AUTH_EMAIL_MAX bytes, and no spaces, control characters or <>()[],;:"\ anywhere. Whether it
 * reaches anybody is not ours to know.
 */
bool auth_email_ok(const char *email);

/* Columns of a user, in the order auth_user_json and auth_user_from_row read them. */
#define AUTH_USER_COLS                                                                             \
	"id, email, name, array_to_string(roles, ','), disabled, "                                 \
	"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "            \
	"to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

struct st_db_result;

/* The public form of the user in row of res (selected with AUTH_USER_COLS first): id, email,
 * name, roles, disabled, created_at, updated_at; never the hash. The caller owns it. */
cJSON *auth_user_json(const struct st_db_result *res, int row);

struct st_db_conn;
/* Revokes every live refresh token of the user on conn (password change, disabling). */
enum st_err auth_revoke_refresh_tokens(struct st_db_conn *conn, const char *user_id);

struct st_db_result;
/*
 * Runs sql (an UPDATE of one user, $1 = id, RETURNING AUTH_USER_COLS) in one transaction and,
 * when revoke is true, revokes the user's refresh tokens in the same transaction. *res
 * receives the updated user (the caller frees it). ST_ERR_NOT_FOUND when no user has that id.
 */
enum st_err auth_user_update(struct st_app *app, const char *sql, int nparams,
			     const char *const *params, bool revoke, struct st_db_result **res);

/* ---- bootstrap.c ---- */

/* `strata-auth bootstrap-admin`: creates the first admin from the environment and exits.
 * Returns the process exit code (0 done, 2 bad settings or password, 1 failure). */
int auth_bootstrap_admin(int argc, char **argv);

#endif
