/*
 * Signing and verifying the X-Strata-Principal header (see principal.h for the wire form).
 */
#include "strata/principal.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
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

static void
hmac_hex(const char *secret, const char *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)data, len, mac,
		 &maclen) == NULL)
		abort(); /* HMAC-SHA256 cannot fail short of memory exhaustion */
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
