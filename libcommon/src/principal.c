/*
 * Signing and verifying the X-Strata-Principal header (see principal.h for the wire form).
 */
#include "strata/principal.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const scope_names[] = { "read", "write", "admin", "dashboard", "ingest" };

bool
st_scopes_parse(const char *list, unsigned *out)
{
	const char *p = list;
	unsigned scopes = 0;

	while (*p != '\0') {
		size_t len;
		bool known = false;

		while (*p == ',' || *p == ' ')
			p++;
		len = strcspn(p, ", ");
		if (len == 0)
			break;
		for (size_t i = 0; i < ST_ARRAY_LEN(scope_names); i++) {
			if (strlen(scope_names[i]) == len && strncmp(p, scope_names[i], len) == 0) {
				scopes |= 1u << i;
				known = true;
			}
		}
		if (!known)
			return false;
		p += len;
	}
	*out = scopes;
	return true;
}

bool
st_scopes_format(unsigned scopes, char *buf, size_t cap)
{
	size_t n = 0;

	if (cap == 0)
		return false;
	buf[0] = '\0';
	for (size_t i = 0; i < ST_ARRAY_LEN(scope_names); i++) {
		size_t len = strlen(scope_names[i]);

		if (!(scopes & (1u << i)))
			continue;
		if (n + (n > 0) + len + 1 > cap)
			return false;
		if (n > 0)
			buf[n++] = ',';
		memcpy(buf + n, scope_names[i], len + 1);
		n += len;
	}
	return true;
}

bool
st_scopes_allow(unsigned have, unsigned need)
{
	return (have & need) == need;
}

bool
st_principal_field_ok(const char *s, size_t cap)
{
	size_t n = 0;

	for (const char *p = s; *p != '\0'; p++, n++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '@' ||
			  c == '-';
		if (!ok)
			return false;
	}
	return n > 0 && n < cap;
}

/*
 * Each thread keeps an HMAC-SHA256 context keyed with the last secret it used: every request
 * signs or verifies one principal, and setting the key up (and looking the algorithm up) each
 * time was most of the cost. The context is freed with the thread.
 */
struct mac_cache {
	EVP_MAC_CTX *ctx;
	char secret[256]; /* the key it holds; longer secrets are not cached */
};

static pthread_key_t mac_key;
static pthread_once_t mac_once = PTHREAD_ONCE_INIT;

static void
mac_cache_free(void *arg)
{
	struct mac_cache *c = arg;

	EVP_MAC_CTX_free(c->ctx);
	free(c);
}

static void
mac_key_create(void)
{
	if (pthread_key_create(&mac_key, mac_cache_free) != 0)
		abort();
}

/* This thread's context, keyed with secret and ready for data; NULL for an empty secret or one
 * too long to cache (the caller then uses the one-shot HMAC). */
static EVP_MAC_CTX *
mac_ctx(const char *secret)
{
	struct mac_cache *c;
	size_t n = strlen(secret);

	if (n == 0 || n >= sizeof(c->secret))
		return NULL;
	pthread_once(&mac_once, mac_key_create);
	c = pthread_getspecific(mac_key);
	if (c == NULL) {
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

		c = calloc(1, sizeof(*c));
		if (mac == NULL || c == NULL)
			abort(); /* out of memory, or OpenSSL without HMAC */
		c->ctx = EVP_MAC_CTX_new(mac);
		EVP_MAC_free(mac);
		if (c->ctx == NULL)
			abort();
		pthread_setspecific(mac_key, c);
	}
	if (strcmp(c->secret, secret) != 0) {
		OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
					OSSL_PARAM_construct_end() };

		if (EVP_MAC_init(c->ctx, (const unsigned char *)secret, n, params) != 1)
			abort();
		memcpy(c->secret, secret, n + 1);
	} else if (EVP_MAC_init(c->ctx, NULL, 0, NULL) != 1) { /* the same key again */
		abort();
	}
	return c->ctx;
}

static void
hmac_hex(const char *secret, const char *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	EVP_MAC_CTX *ctx = mac_ctx(secret);

	if (ctx != NULL) {
		size_t got = 0;

		if (EVP_MAC_update(ctx, (const unsigned char *)data, len) != 1 ||
		    EVP_MAC_final(ctx, mac, &got, sizeof(mac)) != 1)
			abort(); /* HMAC-SHA256 cannot fail short of memory exhaustion */
		maclen = (unsigned int)got;
	} else if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)data, len,
			mac, &maclen) == NULL) {
		abort();
	}
	for (unsigned int i = 0; i < 32; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[64] = '\0';
}

static bool
kind_ok(const char *kind)
{
	return strcmp(kind, "user") == 0 || strcmp(kind, "apikey") == 0 ||
	       strcmp(kind, "device") == 0 || strcmp(kind, "service") == 0 ||
	       strcmp(kind, "anonymous") == 0;
}

enum st_err
st_principal_sign(const struct st_principal *p, const char *secret, char *out, size_t cap)
{
	char scopes[64], sig[65];
	int n;

	if (!st_principal_field_ok(p->sub, sizeof(p->sub)) || !kind_ok(p->kind) ||
	    (p->request_id[0] != '\0' &&
	     !st_principal_field_ok(p->request_id, sizeof(p->request_id))))
		return ST_ERR_INVALID;
	st_scopes_format(p->scopes, scopes, sizeof(scopes));
	n = snprintf(out, cap, "v1;sub=%s;kind=%s;scopes=%s;rid=%s;t=%lld", p->sub, p->kind, scopes,
		     p->request_id, (long long)p->issued_ms);
	if (n < 0 || (size_t)n + 5 + 64 + 1 > cap)
		return ST_ERR_TOO_LARGE;
	hmac_hex(secret, out, (size_t)n, sig);
	memcpy(out + n, ";sig=", 5);
	memcpy(out + n + 5, sig, 65);
	return ST_OK;
}

/* Copies the value of `;name=` at *p up to the next ';' into buf; advances *p. */
static bool
take_field(const char **p, const char *name, char *buf, size_t cap)
{
	size_t nlen = strlen(name), vlen;
	const char *v;

	if (**p != ';' || strncmp(*p + 1, name, nlen) != 0 || (*p)[1 + nlen] != '=')
		return false;
	v = *p + 1 + nlen + 1;
	vlen = strcspn(v, ";");
	if (vlen >= cap)
		return false;
	memcpy(buf, v, vlen);
	buf[vlen] = '\0';
	*p = v + vlen;
	return true;
}

static enum st_err
fail(char *err, size_t errcap, const char *why)
{
	st_errf(err, errcap, "%s", why);
	return ST_ERR_AUTH;
}

enum st_err
st_principal_verify(const char *header, const char *secret, int64_t now_ms, int64_t max_age_ms,
		    struct st_principal *out, char *err, size_t errcap)
{
	char scopes[64], t[24], sig[80], want[65];
	const char *p = header, *sig_at;
	struct st_principal pr;
	char *end;
	long long issued;

	memset(&pr, 0, sizeof(pr));
	if (header == NULL || header[0] == '\0')
		return fail(err, errcap, "missing");
	if (strlen(header) > 512 || strncmp(header, "v1", 2) != 0)
		return fail(err, errcap, "malformed");
	p = header + 2;
	if (!take_field(&p, "sub", pr.sub, sizeof(pr.sub)) ||
	    !take_field(&p, "kind", pr.kind, sizeof(pr.kind)) ||
	    !take_field(&p, "scopes", scopes, sizeof(scopes)) ||
	    !take_field(&p, "rid", pr.request_id, sizeof(pr.request_id)) ||
	    !take_field(&p, "t", t, sizeof(t)))
		return fail(err, errcap, "malformed");
	sig_at = p;
	if (!take_field(&p, "sig", sig, sizeof(sig)) || *p != '\0' || strlen(sig) != 64)
		return fail(err, errcap, "malformed");
	hmac_hex(secret, header, (size_t)(sig_at - header), want);
	if (CRYPTO_memcmp(want, sig, 64) != 0)
		return fail(err, errcap, "bad signature");
	/* Signed, so written by the gateway: still validate, as a defence in depth. */
	errno = 0;
	issued = strtoll(t, &end, 10);
	if (errno != 0 || end == t || *end != '\0' ||
	    !st_principal_field_ok(pr.sub, sizeof(pr.sub)) || !kind_ok(pr.kind) ||
	    !st_scopes_parse(scopes, &pr.scopes) ||
	    (pr.request_id[0] != '\0' &&
	     !st_principal_field_ok(pr.request_id, sizeof(pr.request_id))))
		return fail(err, errcap, "malformed");
	if (issued > now_ms + max_age_ms || issued < now_ms - max_age_ms)
		return fail(err, errcap, "stale");
	pr.issued_ms = issued;
	*out = pr;
	return ST_OK;
}

bool
st_principal_authenticated(const struct st_principal *p)
{
	return p != NULL && strcmp(p->kind, "anonymous") != 0;
}
