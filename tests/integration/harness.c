/*
 * The integration tests' shared helpers; see harness.h.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <check.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include "strata/encode.h"
#include "strata/core.h"
#include "strata/principal.h"

const char *
it_env(const char *name, const char *def)
{
	const char *v = getenv(name);
	return (v != NULL && v[0] != '\0') ? v : def;
}

static const struct {
	const char *name;
	int port;
} default_ports[] = {
	{ "gateway", 8080 },  { "auth", 8081 },      { "ingest", 8082 },  { "statistics", 8083 },
	{ "alerting", 8084 }, { "scheduler", 8085 }, { "storage", 8086 },
};

const char *
it_service_url(const char *service)
{
	static _Thread_local char url[256];
	char var[64];
	int port = 0;

	snprintf(var, sizeof(var), "STRATA_%s_URL", service);
	for (char *p = var; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	if (getenv(var) != NULL && getenv(var)[0] != '\0')
		return getenv(var);
	for (size_t i = 0; i < ST_ARRAY_LEN(default_ports); i++)
		if (strcmp(default_ports[i].name, service) == 0)
			port = default_ports[i].port;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	return url;
}

const char *
it_nginx_url(void)
{
	return it_env("STRATA_NGINX_URL", "http://127.0.0.1:8000");
}

const char *
it_api_url(void)
{
	return it_env("STRATA_API_URL", it_nginx_url());
}

const char *
it_principal_keys(const char *service)
{
	char var[64];

	snprintf(var, sizeof(var), "STRATA_%s_PRINCIPAL_KEYS", service);
	for (char *p = var; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return it_env(var, "");
}

struct st_principal_keys *
it_principal_keys_of(const char *service)
{
	struct st_principal_keys *keys = NULL;
	char err[200];

	ck_assert_msg(st_principal_keys_create(service, it_principal_keys(service), &keys, err,
					       sizeof(err)) == ST_OK,
		      "the principal keys of %s (STRATA_%s_PRINCIPAL_KEYS from test.sh): %s",
		      service, service, err);
	return keys;
}

const char *
it_url_service(const char *url, const char **path)
{
	for (size_t i = 0; i < ST_ARRAY_LEN(default_ports); i++) {
		const char *base = it_service_url(default_ports[i].name);
		size_t n = strlen(base);

		if (strncmp(url, base, n) == 0 && (url[n] == '/' || url[n] == '\0')) {
			*path = url + n;
			return default_ports[i].name;
		}
	}
	return NULL;
}

/* The gateway's keys, made once per process (every test runs in a process of its own). */
static struct st_principal_keys *gateway_keys;
static pthread_once_t gateway_once = PTHREAD_ONCE_INIT;

static void
gateway_keys_make(void)
{
	gateway_keys = it_principal_keys_of("gateway");
}

/* URL-decodes the n bytes at s into out (as CivetWeb does a path: %XX only, '+' stays). */
static void
path_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		if (s[i] == '%' && i + 2 < n && st_hex_digit(s[i + 1]) >= 0 &&
		    st_hex_digit(s[i + 2]) >= 0) {
			out[o++] = (char)(st_hex_digit(s[i + 1]) << 4 | st_hex_digit(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
}

void
it_principal_header_at(const char *service, const char *method, const char *target,
		       const char *kind, const char *sub, unsigned scopes, char *buf, size_t cap)
{
	struct st_principal p;
	struct st_principal_bind bind;
	char value[ST_PRINCIPAL_WIRE_MAX], path[2048];
	const char *query = strchr(target, '?');
	enum st_err rc;

	pthread_once(&gateway_once, gateway_keys_make);
	path_decode(target, query != NULL ? (size_t)(query - target) : strlen(target), path,
		    sizeof(path));
	bind = (struct st_principal_bind){ method, path[0] != '\0' ? path : "/",
					   query != NULL ? query + 1 : NULL };
	memset(&p, 0, sizeof(p));
	st_strlcpy(p.sub, sub, sizeof(p.sub));
	st_strlcpy(p.kind, kind, sizeof(p.kind));
	p.scopes = scopes;
	st_strlcpy(p.request_id, "it-harness", sizeof(p.request_id));
	p.issued_ms = st_now_wall_ms();
	rc = st_principal_sign(&p, gateway_keys, service, &bind, value, sizeof(value));
	ck_assert_msg(rc == ST_OK, "cannot sign for %s %s on %s: %s", method, target, service,
		      st_err_str(rc));
	snprintf(buf, cap, "%s: %s", ST_PRINCIPAL_HEADER, value);
}

void
it_principal_header(const char *method, const char *url, const char *kind, const char *sub,
		    unsigned scopes, char *buf, size_t cap)
{
	const char *at = NULL, *service = it_url_service(url, &at);

	ck_assert_msg(service != NULL, "no service at %s", url);
	it_principal_header_at(service, method, at, kind, sub, scopes, buf, cap);
}

struct buf {
	char *data;
	size_t len;
};

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct buf *b = userdata;
	size_t n = size * nmemb;

	b->data = st_realloc(b->data, b->len + n + 1);
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

long
it_http(const char *method, const char *url, const char *const *headers, const char *body,
	struct it_resp *resp)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *list = NULL;
	struct buf b = { NULL, 0 }, h = { NULL, 0 };

	memset(resp, 0, sizeof(*resp));
	if (curl == NULL)
		return 0;
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		list = curl_slist_append(list, headers[i]);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L); /* the local self-signed certificate */
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	if (body != NULL) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_slist_free_all(list);
	curl_easy_cleanup(curl);
	resp->body = b.data ? b.data : st_strdup("");
	resp->len = b.len;
	resp->headers = h.data ? h.data : st_strdup("");
	return resp->status;
}

int
it_resp_header(const struct it_resp *resp, const char *name, char *buf, size_t cap)
{
	size_t nlen = strlen(name);
	const char *line = resp->headers;

	while (line != NULL && *line != '\0') {
		const char *end = strstr(line, "\r\n");
		size_t llen = end ? (size_t)(end - line) : strlen(line);

		if (llen > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			const char *v = line + nlen + 1;
			size_t vlen;

			while (*v == ' ')
				v++;
			vlen = llen - (size_t)(v - line);
			if (vlen >= cap)
				vlen = cap - 1;
			memcpy(buf, v, vlen);
			buf[vlen] = '\0';
			return 1;
		}
		line = end ? end + 2 : NULL;
	}
	return 0;
}

void
it_resp_cleanup(struct it_resp *resp)
{
	st_free(resp->body);
	st_free(resp->headers);
	memset(resp, 0, sizeof(*resp));
}

int
it_sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc == -1 || !WIFEXITED(rc))
		return -1;
	return WEXITSTATUS(rc);
}

void
it_sql(const char *stmt, int n, const char *const *params, char *out, size_t cap)
{
	PGconn *c = PQconnectdb(it_env("DATABASE_URL", ""));
	PGresult *r;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "DATABASE_URL must reach PostgreSQL: %s",
		      PQerrorMessage(c));
	r = PQexecParams(c, stmt, n, NULL, params, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
		      "%s: %s", stmt, PQerrorMessage(c));
	if (out != NULL)
		st_strlcpy(out, PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "", cap);
	PQclear(r);
	PQfinish(c);
}

long
it_sql_number(const char *stmt, int n, const char *const *params)
{
	PGconn *c = PQconnectdb(it_env("DATABASE_URL", ""));
	long v = -1;

	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *r = PQexecParams(c, stmt, n, NULL, params, NULL, NULL, 0);

		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
			v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
	}
	PQfinish(c);
	return v;
}

/* The KEK auth runs with, from AUTH_KEK_FILE or AUTH_KEK (64 hex digits). */
static void
auth_kek(unsigned char key[crypto_secretbox_KEYBYTES])
{
	const char *path = it_env("AUTH_KEK_FILE", NULL);
	char text[160] = "";
	size_t n = 0;

	if (path != NULL) {
		FILE *f = fopen(path, "r");

		ck_assert_msg(f != NULL, "AUTH_KEK_FILE=%s cannot be read", path);
		n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
	} else {
		st_strlcpy(text, it_env("AUTH_KEK", ""), sizeof(text));
	}
	ck_assert_int_ge(sodium_init(), 0);
	ck_assert_msg(sodium_hex2bin(key, crypto_secretbox_KEYBYTES, text, strlen(text), " \r\n",
				     &n, NULL) == 0 &&
			      n == crypto_secretbox_KEYBYTES,
		      "AUTH_KEK_FILE or AUTH_KEK must hold auth's KEK (64 hex digits)");
	sodium_memzero(text, sizeof(text));
}

char *
it_auth_signing_key(char *kid, size_t kidcap)
{
	unsigned char key[crypto_secretbox_KEYBYTES], *box;
	PGconn *c = PQconnectdb(it_env("DATABASE_URL", ""));
	PGresult *r;
	const char *hex;
	size_t hexlen, boxlen = 0;
	char *pem;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "DATABASE_URL: %s", PQerrorMessage(c));
	r = PQexec(c, "SELECT kid, encode(private_box, 'hex') FROM auth.signing_keys "
		      "WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1");
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
	ck_assert_msg(PQntuples(r) == 1, "auth has no signing key yet");
	st_strlcpy(kid, PQgetvalue(r, 0, 0), kidcap);
	hex = PQgetvalue(r, 0, 1);
	hexlen = strlen(hex);
	box = malloc(hexlen / 2 + 1);
	ck_assert_int_eq(sodium_hex2bin(box, hexlen / 2 + 1, hex, hexlen, NULL, &boxlen, NULL), 0);
	ck_assert_uint_gt(boxlen, crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES);
	auth_kek(key);
	pem = calloc(1, boxlen);
	ck_assert_msg(
		crypto_secretbox_open_easy((unsigned char *)pem, box + crypto_secretbox_NONCEBYTES,
					   boxlen - crypto_secretbox_NONCEBYTES, box, key) == 0,
		"auth's signing key kid=%s does not open with AUTH_KEK_FILE's KEK", kid);
	sodium_memzero(key, sizeof(key));
	free(box);
	PQclear(r);
	PQfinish(c);
	return pem;
}
