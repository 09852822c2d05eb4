/*
 * What the auth service's files share. Two halves meet here:
 *   identity: users.c (register, login, me, admin users), passwords.c (Argon2id, policy),
 *             lockout.c (brute-force counters in Redis), audit.c (strata.audit and its table),
 *             bootstrap.c (the first admin);
 *   tokens:   keys.c (signing keys, JWKS, OpenID configuration), tokens.c (access tokens),
 *             refresh.c (refresh rotation, reuse detection, logout), apikeys.c (API keys and
 *             the gateway's internal verification).
 */
#ifndef STRATA_AUTH_H
#define STRATA_AUTH_H

#include <cjson/cJSON.h>
#include <pthread.h>

#include "strata/principal.h"
#include "strata/service.h"

/* Roles and the scopes they grant (admin: read write admin dashboard; researcher: read write
 * dashboard; viewer: read dashboard; device: ingest). */
#define AUTH_ROLES_MAX 4
bool auth_role_known(const char *role);
unsigned auth_scopes_of_roles(const char *const *roles, size_t n);

/* A user as the token code needs it. */
struct auth_user {
	char id[40];
	char email[256];
	char name[256];
	char roles[AUTH_ROLES_MAX][16];
	size_t nroles;
	bool disabled;
};

/* Loads a user by id. ST_ERR_NOT_FOUND when there is none. */
enum st_err auth_user_load(struct st_app *app, const char *id, struct auth_user *out);

/* ---- tokens half ---- */

/* The service's state: settings and the signing keys (refreshed from the database). */
struct auth_keys;

struct auth {
	const char *issuer;       /* AUTH_ISSUER, the `iss` of every token */
	const char *audience;     /* AUTH_AUDIENCE, the `aud` */
	int access_ttl_s;         /* AUTH_ACCESS_TTL_S, 900 */
	int refresh_ttl_s;        /* AUTH_REFRESH_TTL_S */
	bool allow_register;      /* AUTH_ALLOW_REGISTER */
	int lockout_max;          /* AUTH_LOCKOUT_MAX failures ... */
	int lockout_window_s;     /* ... within AUTH_LOCKOUT_WINDOW_S */
	struct auth_keys *keys;
};

enum st_err auth_keys_init(struct st_app *app, struct auth *auth); /* load or generate */
void auth_keys_destroy(struct auth_keys *keys);

/*
 * Issues a new login for user: an access token and a new refresh-token family. Fills out with
 * {access_token, token_type "Bearer", expires_in, refresh_token}. Used by login.
 */
enum st_err auth_tokens_issue_login(struct st_app *app, const struct auth_user *user,
				    cJSON *out);

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
