/*
 * The caller's identity inside the suite. The gateway authenticates a request, then forwards
 * who made it in the `X-Strata-Principal` header, signed with HMAC-SHA256 under INTERNAL_SECRET
 * and stamped with the time; internal services verify the signature and the freshness before
 * anything else and refuse the request otherwise. Scopes are a bit set.
 *
 * Wire form (one line, fields in this order):
 *   v1;sub=<subject>;kind=<kind>;scopes=<a,b>;rid=<request id>;t=<unix ms>;sig=<64 hex>
 * where sig is the HMAC of everything before ";sig=", and kind is user, apikey, device, service,
 * or anonymous (the caller of a public route: sub "anonymous", no scopes). Subjects and request
 * ids are limited to [A-Za-z0-9._:@-] so that no field can smuggle a separator.
 */
#ifndef STRATA_PRINCIPAL_H
#define STRATA_PRINCIPAL_H

#include "strata/core.h"

#define ST_PRINCIPAL_HEADER "X-Strata-Principal"

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
	int64_t issued_ms; /* when the gateway signed it (Unix ms) */
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

/*
 * Signs p (p->issued_ms is used as is) into out. ST_ERR_INVALID when a field holds characters
 * outside the allowed set, ST_ERR_TOO_LARGE when out is too small (512 bytes always suffice).
 */
enum st_err st_principal_sign(const struct st_principal *p, const char *secret, char *out,
			      size_t cap);

/*
 * Verifies a header value: the format, the signature (compared in constant time) and that
 * |now_ms - t| <= max_age_ms. Fills out on success. ST_ERR_AUTH otherwise, with the reason
 * ("missing", "malformed", "bad signature", "stale") in err.
 */
enum st_err st_principal_verify(const char *header, const char *secret, int64_t now_ms,
				int64_t max_age_ms, struct st_principal *out, char *err,
				size_t errcap);

#endif
