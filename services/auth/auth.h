/*
 * What the auth service's files share. Two halves meet here:
 *   identity: users.c (register, login, me, admin users), passwords.c (Argon2id, policy),
 *             lockout.c (brute-force counters in Redis), audit.c (strata.audit and its table),
 *             client.c (the client's address), bootstrap.c (the first admin);
 *   tokens:   keys.c (signing keys, JWKS, OpenID configuration), kek.c (the key that seals
 *             the signing keys at rest), tokens.c (access tokens), refresh.c (a login's token
 *             pair, refresh rotation, reuse detection, logout), apikeys.c (API keys and the
 *             gateway's internal verification);
 *   both:     roles.c (roles, the scopes they grant, and parsing lists of either).
 */
#ifndef STRATA_AUTH_H
#define STRATA_AUTH_H

#include <cjson/cJSON.h>
#include <pthread.h>

#include "strata/principal.h"
#include "strata/service.h"

/* ---- roles.c: roles, the scopes they grant, and every list of either ---- */

/* Roles and the scopes they grant (admin: all; researcher: read write dashboard ingest;
 * viewer: read dashboard; device: ingest). At most AUTH_ROLES_MAX distinct roles exist. */
#define AUTH_ROLES_MAX 4
bool auth_role_known(const char *role);
unsigned auth_scopes_of_roles(const char *const *roles, size_t n);

/*
 * Parses a list of role names separated by commas, as array_to_string(roles, ',') writes it
 * ("admin,viewer"; "" is no role). names (AUTH_ROLES_MAX entries) receives the role table's
 * own strings, which outlive list, and *n their count. ST_ERR_INVALID when a name is empty or
 * unknown, ST_ERR_CONFLICT when one repeats: the first such error is returned, and names still
 * holds every good name (what a list read back from the database may use; a client's may not).
 */
enum st_err auth_roles_parse(const char *list, const char **names, size_t *n);

struct st_json_errs;
/*
 * The same for a client's JSON array of role names (["viewer"]). Records one error under field
 * ("must hold only ..." or "must not name a role twice") and returns false at the first bad
 * item; *n counts the good ones before it.
 */
bool auth_roles_parse_json(const cJSON *arr, const char *field, const char **names, size_t *n,
			   struct st_json_errs *errs);

/*
 * Parses a client's JSON array of scope names (["read","write"]) into *scopes (enum st_scope
 * bits, libcommon's names). Records an error under "<field>[i]" for each item that is not one
 * scope name, and under field when the array is empty. True when nothing was recorded.
 */
bool auth_scopes_parse_json(const cJSON *arr, const char *field, unsigned *scopes,
			    struct st_json_errs *errs);

/* The scopes as a JSON array of names in libcommon's order. The caller owns it. */
cJSON *auth_scopes_json(unsigned scopes);

/* A user as the token code needs it. */
struct auth_user {
	char id[40];
	char email[256];
	char name[256];
	const char *roles[AUTH_ROLES_MAX]; /* the role table's strings (auth_roles_parse) */
	size_t nroles;
	bool disabled;
};

/* Loads a user by id. ST_ERR_NOT_FOUND when there is none. */
enum st_err auth_user_load(struct st_app *app, const char *id, struct auth_user *out);

/* ---- tokens half ---- */

/* The service's state: settings and the signing keys (refreshed from the database). */
struct auth_keys;

struct auth {
	const char *issuer;   /* AUTH_ISSUER, the `iss` of every token */
	const char *audience; /* AUTH_AUDIENCE, the `aud` */
	int access_ttl_s;     /* AUTH_ACCESS_TTL_S, 900 */
	int refresh_ttl_s;    /* AUTH_REFRESH_TTL_S */
	bool allow_register;  /* AUTH_ALLOW_REGISTER */
	int lockout_max;      /* AUTH_LOCKOUT_MAX failures ... */
	int lockout_window_s; /* ... within AUTH_LOCKOUT_WINDOW_S */
	int lockout_addr_max; /* AUTH_LOCKOUT_ADDR_MAX failures from one address, any account */
	struct auth_keys *keys;
};

enum st_err auth_keys_init(struct st_app *app, struct auth *auth); /* load or generate */
void auth_keys_destroy(struct auth_keys *keys);

/*
 * The tokens half reads app->state as the struct auth. auth_keys_init reads the settings
 * AUTH_JWT_PRIVATE_KEY_FILE (string, "" for none), AUTH_KEY_ROTATE_DAYS (integer, 0: never)
 * and the KEK's (auth_kek_load), which main.c declares; it refuses to start without a KEK, or
 * when the KEKs given cannot open the signing key.
 */

/* ---- kek.c: the key-encryption key that seals the signing keys at rest ---- */

#define AUTH_KEK_BYTES  32 /* crypto_secretbox_KEYBYTES */
#define AUTH_KEK_ID_LEN 16

/* A KEK and its id (AUTH_KEK_ID_LEN hex digits; "" when none is set). Wipe with
 * auth_kek_wipe. */
struct auth_kek {
	unsigned char key[AUTH_KEK_BYTES];
	char id[AUTH_KEK_ID_LEN + 1];
};

struct st_config;
/*
 * Reads the current KEK, from AUTH_KEK_FILE or AUTH_KEK (exactly one of them: required), and
 * the previous one, from AUTH_KEK_PREVIOUS_FILE or AUTH_KEK_PREVIOUS (at most one: optional;
 * previous->id is "" without one). ST_ERR_INVALID with one line logged that names the setting.
 */
enum st_err auth_kek_load(const struct st_config *cfg, struct auth_kek *current,
			  struct auth_kek *previous);
void auth_kek_wipe(struct auth_kek *kek);

/* Seals len bytes of secret under kek with a fresh random nonce: returns the hex of
 * nonce || MAC || ciphertext (the caller owns it: st_free). */
char *auth_kek_seal_hex(const struct auth_kek *kek, const char *secret, size_t len);
/*
 * Opens what auth_kek_seal_hex wrote. *secret receives the plaintext, NUL-terminated (free it
 * with auth_secret_free(*secret, *len)). ST_ERR_AUTH when kek did not seal it or the box was
 * changed, ST_ERR_INVALID when hex is not a box at all.
 */
enum st_err auth_kek_open_hex(const struct auth_kek *kek, const char *hex, char **secret,
			      size_t *len);

/* Wipes and frees a secret buffer of len bytes (accepts NULL). */
void auth_secret_free(char *p, size_t len);
/* Reads a whole file of at most 64 KiB into *out (NUL-terminated; free it with
 * auth_secret_free(*out, *len)). ST_ERR_INVALID with the reason in err, never the content. */
enum st_err auth_secret_file_read(const char *path, char **out, size_t *len, char *err,
				  size_t errcap);

/* The background loop main.c declares (every 60 s, say): rotates the key when it is due (under
 * the advisory lock) and reloads the keys from auth.signing_keys, so that a rotation on one
 * replica reaches the others. Failures are logged; the keys in memory stay. */
void auth_keys_refresh(struct st_app *app);

/* A kid: the first 16 hex digits of SHA-256 of the public key's DER. */
#define AUTH_KID_LEN 16

/* Copies the signing key: its kid into kid (AUTH_KID_LEN + 1 bytes) and its private PEM into
 * *pem (*len bytes), which the caller releases with auth_keys_secret_free (it wipes it).
 * ST_ERR_UNAVAILABLE when no key is loaded. */
enum st_err auth_keys_signer(struct auth_keys *keys, char *kid, char **pem, size_t *len);
void auth_keys_secret_free(char *pem, size_t len);
/* The public PEM of a published key by kid, or NULL. The caller owns it (st_free). */
char *auth_keys_public(struct auth_keys *keys, const char *kid);

/* What goes into an access token; every field is borrowed. */
struct auth_token_claims {
	const char *iss;
	const char *aud;
	const char *sub;
	const char *jti;
	int64_t iat; /* Unix seconds */
	int64_t exp;
	unsigned scopes; /* enum st_scope bits, written as the space-separated `scope` */
	const char *const *roles;
	size_t nroles;
};

/* Signs an access token for user. *token is the caller's (st_free). */
enum st_err auth_tokens_issue_access(struct st_app *app, const struct auth_user *user,
				     char **token);

/* Verifies an access token issued by this service: RS256 only (the header's algorithm is
 * never trusted), a published kid, the signature, iss and aud. Fills jti (>= 64 bytes) and
 * exp. ST_ERR_AUTH when any check fails. Expiry is not checked: the caller decides. */
enum st_err auth_tokens_verify(struct auth *auth, const char *token, char *jti, size_t jticap,
			       int64_t *exp);

/* ---- refresh.c (uses tokens.c; tokens.c uses neither it nor the identity half) ---- */

struct st_db_conn;
/* Creates a refresh token for user_id in family_id (NULL: a new family) on conn (NULL: a
 * pooled connection). token receives the opaque value (>= 64 bytes); only its hash is stored. */
enum st_err auth_refresh_create(struct st_app *app, struct st_db_conn *conn, const char *user_id,
				const char *family_id, char *token, size_t cap);

/*
 * Issues a new login for user: an access token and a new refresh-token family. Fills out with
 * {access_token, token_type "Bearer", expires_in, refresh_token}. Used by login.
 */
enum st_err auth_refresh_issue_login(struct st_app *app, const struct auth_user *user, cJSON *out);

/* ---- identity half, used by the tokens half ---- */

/* Emits an audit event (type such as "login.succeeded", "apikey.created") to strata.audit.
 * data is taken over (may be NULL). Failures are logged, never fatal to the request. */
void auth_audit(struct st_app *app, struct st_req *req, const char *type, const char *subject,
		cJSON *data);

/* Handlers, by file. */
int users_register(struct st_req *req, void *ctx);
int users_login(struct st_req *req, void *ctx);
int users_me_get(struct st_req *req, void *ctx);
int users_me_patch(struct st_req *req, void *ctx);
int users_list(struct st_req *req, void *ctx);
int users_patch(struct st_req *req, void *ctx);
int users_delete(struct st_req *req, void *ctx);
int keys_jwks(struct st_req *req, void *ctx);
int keys_openid_configuration(struct st_req *req, void *ctx);
int refresh_post(struct st_req *req, void *ctx);
int refresh_logout(struct st_req *req, void *ctx);
int apikeys_create(struct st_req *req, void *ctx);
int apikeys_list(struct st_req *req, void *ctx);
int apikeys_delete(struct st_req *req, void *ctx);
int apikeys_verify_internal(struct st_req *req, void *ctx);

/* The audit consumer: writes strata.audit events into auth.audit_log. */
enum st_err audit_write_batch(const struct st_kafka_rec *recs, size_t n, void *ctx);

#endif
