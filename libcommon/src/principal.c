/*
 * Signing and verifying the X-Strata-Principal header (see principal.h for the wire form and
 * the rules), the pair keys a service holds, and scope lists. The signature binds a principal
 * to its signer and target (a key for each pair) and to one request (method, query, path);
 * what a signer may sign is checked on both sides.
 */
#include "strata/principal.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/encode.h"

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

bool
st_principal_name_ok(const char *name)
{
	size_t n = 0;

	if (name == NULL || !(name[0] >= 'a' && name[0] <= 'z'))
		return false;
	for (const char *p = name; *p != '\0'; p++, n++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return n < ST_PRINCIPAL_NAME_MAX;
}

/* ---- the keys ---- */

struct pair_key {
	char signer[ST_PRINCIPAL_NAME_MAX];
	char target[ST_PRINCIPAL_NAME_MAX];
	unsigned char key[32];
};

struct st_principal_keys {
	uint64_t id; /* unique for the process's life: names the object in the thread caches */
	char self[ST_PRINCIPAL_NAME_MAX];
	size_t n;
	struct pair_key pairs[ST_PRINCIPAL_PAIRS_MAX];
};

static atomic_uint_fast64_t keys_next_id = 1;

/* Copies the name of len characters at s into buf; false unless it is a valid service name. */
static bool
take_name(const char *s, size_t len, char buf[ST_PRINCIPAL_NAME_MAX])
{
	if (len == 0 || len >= ST_PRINCIPAL_NAME_MAX)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return st_principal_name_ok(buf);
}

/* Reads one entry "<signer>><target>:<64 hex>" of len characters at s into k. */
static enum st_err
pair_parse(const char *s, size_t len, struct pair_key *k, char *err, size_t errcap)
{
	const char *gt = memchr(s, '>', len), *colon = memchr(s, ':', len);

	if (gt == NULL || colon == NULL || colon < gt) {
		st_errf(err, errcap, "an entry is not <signer>><target>:<64 hex digits>");
		return ST_ERR_INVALID;
	}
	if (!take_name(s, (size_t)(gt - s), k->signer) ||
	    !take_name(gt + 1, (size_t)(colon - gt - 1), k->target)) {
		st_errf(err, errcap, "a pair names a service outside [a-z0-9-] (1-31 characters)");
		return ST_ERR_INVALID;
	}
	if (len - (size_t)(colon + 1 - s) != 2 * sizeof(k->key)) {
		st_errf(err, errcap, "the key of %s>%s is not 64 hex digits (32 bytes)", k->signer,
			k->target);
		return ST_ERR_INVALID;
	}
	for (size_t i = 0; i < sizeof(k->key); i++) {
		int hi = st_hex_digit(colon[1 + 2 * i]), lo = st_hex_digit(colon[2 + 2 * i]);

		if (hi < 0 || lo < 0) {
			st_errf(err, errcap, "the key of %s>%s is not 64 hex digits (32 bytes)",
				k->signer, k->target);
			return ST_ERR_INVALID;
		}
		k->key[i] = (unsigned char)(hi << 4 | lo);
	}
	return ST_OK;
}

enum st_err
st_principal_keys_create(const char *self, const char *spec, struct st_principal_keys **out,
			 char *err, size_t errcap)
{
	struct st_principal_keys *keys = st_calloc(1, sizeof(*keys));
	const char *p = spec != NULL ? spec : "";
	enum st_err rc = ST_ERR_INVALID;

	*out = NULL;
	if (!st_principal_name_ok(self)) {
		st_errf(err, errcap, "'%s' is not a service name", self != NULL ? self : "");
		goto out;
	}
	st_strlcpy(keys->self, self, sizeof(keys->self));
	while (*p != '\0') {
		struct pair_key *k;
		size_t len;

		while (*p == ',' || *p == ' ')
			p++;
		len = strcspn(p, ", ");
		if (len == 0)
			break;
		if (keys->n == ST_PRINCIPAL_PAIRS_MAX) {
			st_errf(err, errcap, "more than %d pairs", ST_PRINCIPAL_PAIRS_MAX);
			goto out;
		}
		k = &keys->pairs[keys->n];
		if (pair_parse(p, len, k, err, errcap) != ST_OK)
			goto out;
		if (strcmp(k->signer, k->target) == 0) {
			st_errf(err, errcap, "the pair %s>%s has one service on both sides",
				k->signer, k->target);
			goto out;
		}
		if (strcmp(k->signer, self) != 0 && strcmp(k->target, self) != 0) {
			st_errf(err, errcap,
				"%s holds the key of %s>%s, which it neither signs nor verifies "
				"with",
				self, k->signer, k->target);
			goto out;
		}
		for (size_t i = 0; i < keys->n; i++) {
			if (strcmp(keys->pairs[i].signer, k->signer) == 0 &&
			    strcmp(keys->pairs[i].target, k->target) == 0) {
				st_errf(err, errcap, "the pair %s>%s is given twice", k->signer,
					k->target);
				goto out;
			}
		}
		keys->n++;
		p += len;
	}
	if (keys->n == 0) {
		st_errf(err, errcap, "no key: expected <signer>><target>:<64 hex digits>,...");
		goto out;
	}
	keys->id = atomic_fetch_add(&keys_next_id, 1);
	*out = keys;
	keys = NULL; /* ownership moved to the caller */
	rc = ST_OK;
out:
	st_principal_keys_destroy(keys);
	return rc;
}

void
st_principal_keys_destroy(struct st_principal_keys *keys)
{
	if (keys == NULL)
		return;
	OPENSSL_cleanse(keys, sizeof(*keys));
	st_free(keys);
}

const char *
st_principal_keys_self(const struct st_principal_keys *keys)
{
	return keys->self;
}

/* The index of the pair signer>target in keys, or -1. */
static int
pair_find(const struct st_principal_keys *keys, const char *signer, const char *target)
{
	for (size_t i = 0; i < keys->n; i++)
		if (strcmp(keys->pairs[i].signer, signer) == 0 &&
		    strcmp(keys->pairs[i].target, target) == 0)
			return (int)i;
	return -1;
}

bool
st_principal_keys_can_sign(const struct st_principal_keys *keys, const char *target)
{
	return target != NULL && pair_find(keys, keys->self, target) >= 0;
}

/*
 * Each thread keeps HMAC-SHA256 contexts keyed with the pair keys it used last: every request
 * signs or verifies one principal, and setting a key up (and looking the algorithm up) each
 * time was most of the cost. A slot names its key by the key set's id and the pair's index; a
 * thread that meets more pairs than it has slots takes them over in turn. The contexts are
 * freed with the thread.
 */
#define MAC_SLOTS 16

struct mac_slot {
	uint64_t keys_id; /* 0: unused */
	size_t pair;
	EVP_MAC_CTX *ctx;
};

struct mac_cache {
	struct mac_slot slots[MAC_SLOTS];
	unsigned next; /* the slot to take over next */
};

static pthread_key_t mac_key;
static pthread_once_t mac_once = PTHREAD_ONCE_INIT;

static void
mac_cache_free(void *arg)
{
	struct mac_cache *c = arg;

	for (size_t i = 0; i < MAC_SLOTS; i++)
		EVP_MAC_CTX_free(c->slots[i].ctx);
	free(c);
}

static void
mac_key_create(void)
{
	if (pthread_key_create(&mac_key, mac_cache_free) != 0)
		abort();
}

/* This thread's context for pair index pair of keys, keyed and ready for data. */
static EVP_MAC_CTX *
mac_ctx(const struct st_principal_keys *keys, size_t pair)
{
	struct mac_cache *c;
	struct mac_slot *s;
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
				OSSL_PARAM_construct_end() };

	pthread_once(&mac_once, mac_key_create);
	c = pthread_getspecific(mac_key);
	if (c == NULL) {
		c = calloc(1, sizeof(*c));
		if (c == NULL)
			abort();
		pthread_setspecific(mac_key, c);
	}
	for (size_t i = 0; i < MAC_SLOTS; i++) {
		s = &c->slots[i];
		if (s->keys_id == keys->id && s->pair == pair) {
			if (EVP_MAC_init(s->ctx, NULL, 0, NULL) != 1) /* the same key again */
				abort();
			return s->ctx;
		}
	}
	s = &c->slots[c->next];
	c->next = (c->next + 1) % MAC_SLOTS;
	if (s->ctx == NULL) {
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

		if (mac == NULL)
			abort(); /* out of memory, or OpenSSL without HMAC */
		s->ctx = EVP_MAC_CTX_new(mac);
		EVP_MAC_free(mac);
		if (s->ctx == NULL)
			abort();
	}
	s->keys_id = 0; /* until it holds the key */
	if (EVP_MAC_init(s->ctx, keys->pairs[pair].key, sizeof(keys->pairs[pair].key), params) != 1)
		abort();
	s->keys_id = keys->id;
	s->pair = pair;
	return s->ctx;
}

static void
mac_update(EVP_MAC_CTX *ctx, const char *data, size_t len)
{
	if (len > 0 && EVP_MAC_update(ctx, (const unsigned char *)data, len) != 1)
		abort(); /* HMAC-SHA256 cannot fail short of memory exhaustion */
}

/* The MAC of the signed part of a header and the request it is bound to, in lower-case hex. */
static void
mac_hex(const struct st_principal_keys *keys, size_t pair, const char *head, size_t len,
	const struct st_principal_bind *bind, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	EVP_MAC_CTX *ctx = mac_ctx(keys, pair);
	const char *query = bind->query != NULL ? bind->query : "";
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t got = 0;

	mac_update(ctx, head, len);
	mac_update(ctx, "\n", 1);
	mac_update(ctx, bind->method, strlen(bind->method));
	mac_update(ctx, "\n", 1);
	mac_update(ctx, query, strlen(query));
	mac_update(ctx, "\n", 1);
	mac_update(ctx, bind->path, strlen(bind->path));
	if (EVP_MAC_final(ctx, mac, &got, sizeof(mac)) != 1 || got != 32)
		abort();
	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[64] = '\0';
}

/* ---- signing and verifying ---- */

static bool
kind_ok(const char *kind)
{
	return strcmp(kind, "user") == 0 || strcmp(kind, "apikey") == 0 ||
	       strcmp(kind, "device") == 0 || strcmp(kind, "service") == 0 ||
	       strcmp(kind, "anonymous") == 0;
}

/* The method and query hold no line feed (they are separated by one in the MAC input, the
 * path comes last), and there is a path. */
static bool
bind_ok(const struct st_principal_bind *bind)
{
	return bind != NULL && bind->method != NULL && bind->method[0] != '\0' &&
	       strchr(bind->method, '\n') == NULL && bind->path != NULL &&
	       (bind->query == NULL || strchr(bind->query, '\n') == NULL);
}

/* What a signer may sign: the gateway anything; another service only its own service
 * principal, on an /internal/ path. */
static bool
signer_may(const char *signer, const struct st_principal *p, const char *path)
{
	if (strcmp(signer, ST_PRINCIPAL_GATEWAY) == 0)
		return true;
	return strcmp(p->kind, "service") == 0 && strcmp(p->sub, signer) == 0 &&
	       strncmp(path, ST_PRINCIPAL_INTERNAL_PREFIX, strlen(ST_PRINCIPAL_INTERNAL_PREFIX)) ==
		       0;
}

enum st_err
st_principal_sign(const struct st_principal *p, const struct st_principal_keys *keys,
		  const char *target, const struct st_principal_bind *bind, char *out, size_t cap)
{
	char scopes[64], sig[65];
	int pair, n;

	if (!st_principal_field_ok(p->sub, sizeof(p->sub)) || !kind_ok(p->kind) ||
	    (p->request_id[0] != '\0' &&
	     !st_principal_field_ok(p->request_id, sizeof(p->request_id))) ||
	    !st_principal_name_ok(target) || !bind_ok(bind) ||
	    !signer_may(keys->self, p, bind->path))
		return ST_ERR_INVALID;
	pair = pair_find(keys, keys->self, target);
	if (pair < 0)
		return ST_ERR_NOT_FOUND;
	st_scopes_format(p->scopes, scopes, sizeof(scopes));
	n = snprintf(out, cap, "v2;by=%s;to=%s;sub=%s;kind=%s;scopes=%s;rid=%s;t=%lld", keys->self,
		     target, p->sub, p->kind, scopes, p->request_id, (long long)p->issued_ms);
	if (n < 0 || (size_t)n + 5 + 64 + 1 > cap)
		return ST_ERR_TOO_LARGE;
	mac_hex(keys, (size_t)pair, out, (size_t)n, bind, sig);
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

static bool
hex_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

enum st_err
st_principal_parse(const char *header, struct st_principal *out, size_t *signed_len, char *err,
		   size_t errcap)
{
	char scopes[64], t[24], sig[80];
	const char *p, *sig_at;
	struct st_principal pr;
	char *end;
	long long issued;

	memset(&pr, 0, sizeof(pr));
	if (header == NULL || header[0] == '\0')
		return fail(err, errcap, "missing");
	if (strlen(header) >= ST_PRINCIPAL_WIRE_MAX || strncmp(header, "v2", 2) != 0)
		return fail(err, errcap, "malformed");
	p = header + 2;
	if (!take_field(&p, "by", pr.signer, sizeof(pr.signer)) ||
	    !take_field(&p, "to", pr.target, sizeof(pr.target)) ||
	    !take_field(&p, "sub", pr.sub, sizeof(pr.sub)) ||
	    !take_field(&p, "kind", pr.kind, sizeof(pr.kind)) ||
	    !take_field(&p, "scopes", scopes, sizeof(scopes)) ||
	    !take_field(&p, "rid", pr.request_id, sizeof(pr.request_id)) ||
	    !take_field(&p, "t", t, sizeof(t)))
		return fail(err, errcap, "malformed");
	sig_at = p;
	if (!take_field(&p, "sig", sig, sizeof(sig)) || *p != '\0' || strlen(sig) != 64 ||
	    !hex_lower(sig, 64))
		return fail(err, errcap, "malformed");
	errno = 0;
	issued = strtoll(t, &end, 10);
	if (errno != 0 || end == t || *end != '\0' || !st_principal_name_ok(pr.signer) ||
	    !st_principal_name_ok(pr.target) || !st_principal_field_ok(pr.sub, sizeof(pr.sub)) ||
	    !kind_ok(pr.kind) || !st_scopes_parse(scopes, &pr.scopes) ||
	    (pr.request_id[0] != '\0' &&
	     !st_principal_field_ok(pr.request_id, sizeof(pr.request_id))))
		return fail(err, errcap, "malformed");
	pr.issued_ms = issued;
	*signed_len = (size_t)(sig_at - header);
	*out = pr;
	return ST_OK;
}

enum st_err
st_principal_verify(const char *header, const struct st_principal_keys *keys,
		    const struct st_principal_bind *bind, int64_t now_ms, int64_t max_age_ms,
		    struct st_principal *out, char *err, size_t errcap)
{
	struct st_principal pr;
	size_t signed_len = 0;
	char want[65];
	enum st_err rc;
	int pair;

	rc = st_principal_parse(header, &pr, &signed_len, err, errcap);
	if (rc != ST_OK)
		return rc;
	if (!bind_ok(bind))
		return fail(err, errcap, "malformed");
	if (strcmp(pr.target, keys->self) != 0)
		return fail(err, errcap, "wrong target");
	pair = pair_find(keys, pr.signer, keys->self);
	if (pair < 0)
		return fail(err, errcap, "unknown signer");
	mac_hex(keys, (size_t)pair, header, signed_len, bind, want);
	if (CRYPTO_memcmp(want, header + signed_len + 5, 64) != 0)
		return fail(err, errcap, "bad signature");
	/* A pair key proves who signed; what that signer may sign is checked apart, so that a
	 * service that signs for a user is refused even with its own key. */
	if (!signer_may(pr.signer, &pr, bind->path))
		return fail(err, errcap, "signer not allowed");
	if (pr.issued_ms > now_ms + max_age_ms || pr.issued_ms < now_ms - max_age_ms)
		return fail(err, errcap, "stale");
	*out = pr;
	return ST_OK;
}

bool
st_principal_authenticated(const struct st_principal *p)
{
	return p != NULL && strcmp(p->kind, "anonymous") != 0;
}
