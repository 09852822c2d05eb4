/*
 * strata-auth: users and roles, password login with a brute-force lockout, access tokens
 * (JWT RS256, JWKS published), refresh-token rotation with reuse detection, logout, API keys,
 * and the audit trail. The tables below are the whole service as the outside sees it.
 *
 * `strata-auth bootstrap-admin` instead creates the first administrator and exits
 * (bootstrap.c).
 */
#include <string.h>

#include "identity.h"

static const struct st_config_item config[] = {
	ST_CONFIG_STR("AUTH_ISSUER", "http://127.0.0.1:8000"),
	ST_CONFIG_STR("AUTH_AUDIENCE", "strata"),
	ST_CONFIG_INT("AUTH_ACCESS_TTL_S", 900, 60, 86400),
	ST_CONFIG_INT("AUTH_REFRESH_TTL_S", 2592000, 300, 31536000), /* 30 days */
	ST_CONFIG_BOOL("AUTH_ALLOW_REGISTER", true),
	/* Failed logins of one (account, address) pair within the window before a block ... */
	ST_CONFIG_INT("AUTH_LOCKOUT_MAX", 5, 1, 1000),
	ST_CONFIG_INT("AUTH_LOCKOUT_WINDOW_S", 3600, 10, 2592000),
	/* ... and of one address across all accounts (lockout.c explains the two). */
	ST_CONFIG_INT("AUTH_LOCKOUT_ADDR_MAX", 20, 1, 1000000),
	/* Argon2id runs at once, 64 MiB each (passwords.c). */
	ST_CONFIG_INT("AUTH_PASSWORD_HASH_CONCURRENCY", 4, 1, 256),
	/* A PEM private key to sign with instead of the generated, rotated ones (keys.c). */
	ST_CONFIG_STR("AUTH_JWT_PRIVATE_KEY_FILE", ""),
	ST_CONFIG_INT("AUTH_KEY_ROTATE_DAYS", 90, 0, 3650), /* 0: never */
	/* The key that seals the signing keys at rest: a file of 64 hex digits or the digits
	 * themselves, one of the two; the previous one only opens, during a rotation (kek.c). */
	ST_CONFIG_STR("AUTH_KEK_FILE", ""),
	ST_CONFIG_SECRET("AUTH_KEK", "", 0),
	ST_CONFIG_STR("AUTH_KEK_PREVIOUS_FILE", ""),
	ST_CONFIG_SECRET("AUTH_KEK_PREVIOUS", "", 0),
};

/* Public routes take the gateway's anonymous principal; the handlers of me and api-keys check
 * st_principal_authenticated themselves; the users routes need scope admin. */
static const struct st_route routes[] = {
	{ "POST", "/api/v1/auth/register", users_register, ST_SCOPE_NONE },
	{ "POST", "/api/v1/auth/login", users_login, ST_SCOPE_NONE },
	{ "POST", "/api/v1/auth/refresh", refresh_post, ST_SCOPE_NONE },
	{ "POST", "/api/v1/auth/logout", refresh_logout, ST_SCOPE_NONE },
	{ "GET", "/api/v1/auth/me", users_me_get, ST_SCOPE_NONE },
	{ "PATCH", "/api/v1/auth/me", users_me_patch, ST_SCOPE_NONE },
	{ "GET", "/api/v1/auth/jwks", keys_jwks, ST_SCOPE_NONE },
	{ "GET", "/.well-known/openid-configuration", keys_openid_configuration, ST_SCOPE_NONE },
	{ "GET", "/api/v1/users", users_list, ST_SCOPE_ADMIN },
	{ "PATCH", "/api/v1/users/{id}", users_patch, ST_SCOPE_ADMIN },
	{ "DELETE", "/api/v1/users/{id}", users_delete, ST_SCOPE_ADMIN },
	{ "POST", "/api/v1/api-keys", apikeys_create, ST_SCOPE_NONE },
	{ "GET", "/api/v1/api-keys", apikeys_list, ST_SCOPE_NONE },
	{ "DELETE", "/api/v1/api-keys/{id}", apikeys_delete, ST_SCOPE_NONE },
	{ "POST", "/internal/v1/api-keys/verify", apikeys_verify_internal, ST_SCOPE_NONE },
};

static const struct st_consumer consumers[] = {
	{ "strata.audit", "auth-audit", audit_write_batch, 0 },
};

static const struct st_loop loops[] = {
	{ "auth-audit", 200, auth_audit_flush },
	{ "auth-keys", 60000, auth_keys_refresh },
};

static void
auth_fini(struct st_app *app)
{
	struct auth *auth = app->state;

	auth_audit_fini(app);
	auth_passwords_fini();
	if (auth == NULL)
		return;
	auth_keys_destroy(auth->keys);
	st_free(auth);
	app->state = NULL;
}

static enum st_err
auth_init(struct st_app *app)
{
	const struct st_config *cfg = app->config;
	struct auth *auth = st_calloc(1, sizeof(*auth));
	enum st_err rc;

	auth->issuer = st_config_str(cfg, "AUTH_ISSUER");
	auth->audience = st_config_str(cfg, "AUTH_AUDIENCE");
	auth->access_ttl_s = (int)st_config_int(cfg, "AUTH_ACCESS_TTL_S");
	auth->refresh_ttl_s = (int)st_config_int(cfg, "AUTH_REFRESH_TTL_S");
	auth->allow_register = st_config_bool(cfg, "AUTH_ALLOW_REGISTER");
	auth->lockout_max = (int)st_config_int(cfg, "AUTH_LOCKOUT_MAX");
	auth->lockout_window_s = (int)st_config_int(cfg, "AUTH_LOCKOUT_WINDOW_S");
	auth->lockout_addr_max = (int)st_config_int(cfg, "AUTH_LOCKOUT_ADDR_MAX");
	app->state = auth;
	auth_audit_init();
	rc = auth_passwords_init((int)st_config_int(cfg, "AUTH_PASSWORD_HASH_CONCURRENCY"));
	if (rc == ST_OK)
		rc = auth_keys_init(app, auth);
	if (rc != ST_OK)
		auth_fini(app); /* the runner calls fini only after a successful init */
	return rc;
}

static const struct st_service service = {
	.name = "auth",
	.default_port = 8081,
	.db_schema = "auth",
	.needs = ST_NEED_DB | ST_NEED_REDIS | ST_NEED_KAFKA,
	.config = config,
	.nconfig = ST_ARRAY_LEN(config),
	.routes = routes,
	.nroutes = ST_ARRAY_LEN(routes),
	.consumers = consumers,
	.nconsumers = ST_ARRAY_LEN(consumers),
	.loops = loops,
	.nloops = ST_ARRAY_LEN(loops),
	.init = auth_init,
	.fini = auth_fini,
};

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "bootstrap-admin") == 0)
		return auth_bootstrap_admin(argc, argv);
	return st_service_main(&service, argc, argv);
}
