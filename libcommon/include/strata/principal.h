/*
 * The caller's identity inside the suite. The gateway authenticates a request, then forwards
 * who made it in the `X-Strata-Principal` header, signed and stamped with the time; internal
 * services verify it before anything else and refuse the request otherwise. Scopes are a bit
 * set.
 *
 * Wire form (one line, fields in this order):
 *   v2;by=<signer>;to=<target>;sub=<subject>;kind=<kind>;scopes=<a,b>;rid=<request id>;
 *   t=<unix ms>;sig=<64 hex>
 * by and to are service names ([a-z0-9-], starting with a letter); kind is user, apikey,
 * device, service, or anonymous (the caller of a public route: sub "anonymous", no scopes).
 * Subjects and request ids are limited to [A-Za-z0-9._:@-] so that no field can smuggle a
 * separator.
 *
 * sig is HMAC-SHA256, under the key of the pair by>to, of: everything before ";sig=", LF, the
 * request's method, LF, its raw query string (the bytes after '?', as sent; empty without
 * one), LF, its path as the target routes it (URL-decoded, dot segments removed: CivetWeb's
 * local_uri). A principal is therefore good for one method, path, query and service only.
 *
 * Each signer>target pair has a key of its own (st_principal_keys), and a service holds only
 * the pairs it is a side of. Only the gateway ("gateway") may sign for users, API keys,
 * devices and anonymous callers; any other signer only for itself (kind "service", sub its
 * own name) and only on /internal/ paths. Both signing and verifying enforce that.
 *
 * st_principal_parse and st_principal_verify are pure functions of their arguments (the only
 * state they touch is a per-thread cache of keyed HMAC contexts, which changes no result).
 */
#ifndef STRATA_PRINCIPAL_H
#define STRATA_PRINCIPAL_H

#include "strata/core.h"

#define ST_PRINCIPAL_HEADER "X-Strata-Principal"
/* The one signer that may speak for users, API keys, devices and anonymous callers. */
#define ST_PRINCIPAL_GATEWAY "gateway"
/* Where a signer other than the gateway may send its principals. */
#define ST_PRINCIPAL_INTERNAL_PREFIX "/internal/"
/* A service name's buffer: at most 31 characters. */
#define ST_PRINCIPAL_NAME_MAX 32
/* The longest header value st_principal_sign writes and st_principal_verify accepts. */
#define ST_PRINCIPAL_WIRE_MAX 512
/* The most pairs one service may hold. */
#define ST_PRINCIPAL_PAIRS_MAX 64

enum st_scope {
	ST_SCOPE_NONE = 0,
	ST_SCOPE_READ = 1u << 0,
	ST_SCOPE_WRITE = 1u << 1,
	ST_SCOPE_ADMIN = 1u << 2,
	ST_SCOPE_DASHBOARD = 1u << 3,
	ST_SCOPE_INGEST = 1u << 4,
	ST_SCOPE_ALL = (1u << 5) - 1,
};

struct st_principal {
	char sub[128];   /* user id, API key id, device id or service name */
	char kind[16];   /* user, apikey, device, service or anonymous */
	unsigned scopes; /* enum st_scope bits */
	char request_id[80];
	int64_t issued_ms; /* when it was signed (Unix ms) */
	/* Filled by st_principal_parse and st_principal_verify; st_principal_sign ignores them
	 * (the signer is the keys' owner, the target an argument). */
	char signer[ST_PRINCIPAL_NAME_MAX];
	char target[ST_PRINCIPAL_NAME_MAX];
};

/* The request a principal is signed for, or is being verified against. Strings borrowed. */
struct st_principal_bind {
	const char *method; /* "GET" */
	const char *path;   /* as the target routes it: URL-decoded, without the query */
	const char *query;  /* raw, after '?'; NULL or "" for none */
};

/* Parses a scope list separated by commas or spaces ("read,write"). Unknown names: false. */
bool st_scopes_parse(const char *list, unsigned *out);
/* Writes the scopes as "read,write" into buf; "" for none. Returns false if it was cut. */
bool st_scopes_format(unsigned scopes, char *buf, size_t cap);
/* True when have holds every scope that need asks for. */
bool st_scopes_allow(unsigned have, unsigned need);

/* True when p names a caller the gateway authenticated (any kind but "anonymous"). */
bool st_principal_authenticated(const struct st_principal *p);

/* True for a non-empty string of at most cap-1 characters from [A-Za-z0-9._:@-]. */
bool st_principal_field_ok(const char *s, size_t cap);

/* True for a service name: 1-31 characters of [a-z0-9-], the first a letter. */
bool st_principal_name_ok(const char *name);

/* ---- the keys ---- */

/* The pair keys one service holds. Opaque; read-only once made, shared by every thread. */
struct st_principal_keys;

/*
 * Reads the keys that the service self holds from spec (the PRINCIPAL_KEYS setting):
 * comma-separated entries "<signer>><target>:<64 hex>" (a 32-byte key), e.g.
 * "gateway>auth:3f...,gateway>ingest:9c...". Every pair must have self on one side (a service
 * is given only the keys it signs or verifies with), no pair twice, signer and target
 * different. ST_ERR_INVALID otherwise, with what is wrong in err (never a key). The caller
 * owns *out: st_principal_keys_destroy() it.
 */
enum st_err st_principal_keys_create(const char *self, const char *spec,
				     struct st_principal_keys **out, char *err, size_t errcap);
/* Wipes and frees. Accepts NULL. */
void st_principal_keys_destroy(struct st_principal_keys *keys);
/* The owner's name. Borrowed. */
const char *st_principal_keys_self(const struct st_principal_keys *keys);
/* True when keys holds the pair self>target, i.e. may sign for target. */
bool st_principal_keys_can_sign(const struct st_principal_keys *keys, const char *target);

/* ---- signing and verifying ---- */

/*
 * Signs p (p->issued_ms is used as is) as the keys' owner for target and the request bind into
 * out. ST_ERR_NOT_FOUND when keys holds no key for owner>target; ST_ERR_INVALID when a field
 * holds characters outside the allowed set, the method or query holds a line feed, or the
 * owner is not the gateway and p is not its own service principal on an /internal/ path;
 * ST_ERR_TOO_LARGE when out is too small (ST_PRINCIPAL_WIRE_MAX bytes always suffice).
 */
enum st_err st_principal_sign(const struct st_principal *p, const struct st_principal_keys *keys,
			      const char *target, const struct st_principal_bind *bind, char *out,
			      size_t cap);

/*
 * Parses the wire form without any key: fills out (every field, signer and target included)
 * and *signed_len, the length of the part before ";sig=" (the 64 hex digits of the signature
 * follow it at header + *signed_len + 5). ST_ERR_AUTH with "missing" or "malformed" in err
 * otherwise; out is then untouched.
 */
enum st_err st_principal_parse(const char *header, struct st_principal *out, size_t *signed_len,
			       char *err, size_t errcap);

/*
 * Verifies a header value for the keys' owner and the request bind, in this order: the format
 * ("missing", "malformed"), the target ("wrong target": to is not the owner), the signer
 * ("unknown signer": no key for by>owner), the signature over the header and the request,
 * compared in constant time ("bad signature": forged, another pair's key, or another method,
 * path or query), what the signer may sign ("signer not allowed": a signer other than the
 * gateway speaking for anyone but itself, or outside /internal/), and |now_ms - t| <=
 * max_age_ms ("stale"). Fills out on success; ST_ERR_AUTH with the reason in err otherwise.
 */
enum st_err st_principal_verify(const char *header, const struct st_principal_keys *keys,
				const struct st_principal_bind *bind, int64_t now_ms,
				int64_t max_age_ms, struct st_principal *out, char *err,
				size_t errcap);

#endif
