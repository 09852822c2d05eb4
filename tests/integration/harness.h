/*
 * What every integration suite shares: where the running suite is (from the environment that
 * compose/local/test.sh exports), a small libcurl HTTP helper, and a way to run the project's
 * own scripts (to restart PostgreSQL or Redis in the middle of a test).
 */
#ifndef STRATA_TEST_HARNESS_H
#define STRATA_TEST_HARNESS_H

#include <stddef.h>

/* The value of an environment variable, or def when unset or empty. Borrowed. */
const char *it_env(const char *name, const char *def);

/* The base URL of a service ("http://127.0.0.1:8081"), from STRATA_<NAME>_URL or the default port.
 */
const char *it_service_url(const char *service);

/* The public API's base URL: STRATA_API_URL when set (e.g. a gateway on its own port while
 * developing), else nginx's. */
const char *it_api_url(void);

/*
 * Writes a header line "X-Strata-Principal: ..." for one request, method on url (a service's
 * URL, it_service_url(name) followed by the path and query), for a caller of the given kind,
 * subject and scopes (enum st_scope bits), issued now and signed with the gateway's key for
 * that service: for tests that call an internal service directly, as the gateway would. The
 * principal is good for that method, path, query and service only, for a few seconds. Fails
 * the test when url names no service or the keys are missing.
 */
void it_principal_header(const char *method, const char *url, const char *kind, const char *sub,
			 unsigned scopes, char *buf, size_t cap);
/* The same for a service that is not at its usual URL (a spare one a test started): target is
 * the path and query the request sends, service the name the principal is signed for. */
void it_principal_header_at(const char *service, const char *method, const char *target,
			    const char *kind, const char *sub, unsigned scopes, char *buf,
			    size_t cap);

/*
 * The PRINCIPAL_KEYS setting of a service ("gateway", "ingest", ...), from the environment
 * that compose/local/test.sh gives the tests (STRATA_<NAME>_PRINCIPAL_KEYS): for tests that
 * start a spare service. "" when unset. Borrowed.
 */
const char *it_principal_keys(const char *service);

struct st_principal_keys;
/* The same as a key set owned by service, for signing or verifying as it; fails the test when
 * the setting is missing or bad. The caller st_principal_keys_destroy's it. */
struct st_principal_keys *it_principal_keys_of(const char *service);

/* The service whose URL url starts with (a static name, e.g. "ingest"), and where its path
 * starts in url; NULL when none. */
const char *it_url_service(const char *url, const char **path);

/* nginx's HTTP base URL (STRATA_NGINX_URL, default http://127.0.0.1:8000). */
const char *it_nginx_url(void);

struct it_resp {
	long status; /* 0 when the request could not be sent */
	char *body;  /* NUL-terminated; owned, freed by it_resp_cleanup */
	size_t len;
	char *headers; /* the raw response header block, NUL-terminated; owned */
};

/*
 * Sends one request. headers is a NULL-terminated array of "Name: value" lines (may be NULL);
 * body may be NULL. Fills resp; returns resp->status. Never follows redirects.
 */
long it_http(const char *method, const char *url, const char *const *headers, const char *body,
	     struct it_resp *resp);

/* Borrowed view of one response header's value copied into buf; false when absent. */
int it_resp_header(const struct it_resp *resp, const char *name, char *buf, size_t cap);

void it_resp_cleanup(struct it_resp *resp);

/*
 * Runs one statement with text parameters on $DATABASE_URL, on a connection of its own, and
 * fails the test when it errs. The first row's first column goes into out ("" without a row);
 * out may be NULL.
 */
void it_sql(const char *stmt, int n, const char *const *params, char *out, size_t cap);
/* The first column of the first row as a number; -1 when the database cannot be asked (a test
 * may have stopped it on purpose) or the statement failed. */
long it_sql_number(const char *stmt, int n, const char *const *params);

/*
 * auth's current signing key (the newest unretired row of auth.signing_keys): its kid into kid
 * and its private PEM, opened with the KEK of AUTH_KEK_FILE or AUTH_KEK as auth opens it. Fails
 * the test when there is none or it does not open. The caller frees the PEM (free).
 */
char *it_auth_signing_key(char *kid, size_t kidcap);

/* Runs a shell command from the repository root; returns its exit status (or -1). */
int it_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
