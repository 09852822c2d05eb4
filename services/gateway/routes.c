/*
 * Which internal service owns a public path, and what a caller must be to reach it: a table of
 * path prefixes, searched in order, so that a longer prefix that needs more (`/api/v1/auth/me`)
 * comes before the shorter one it refines (`/api/v1/auth`). A prefix matches the path itself
 * or the path continued with '/', never a longer word (`/api/v1/projectsx`). An entry with a
 * `{name}` segment is a pattern the whole path must match, for one resource that needs other
 * scopes than its parent (devices post readings with scope ingest). Internal paths
 * (`/internal/...`) are in no entry: the gateway never routes them.
 */
#include <string.h>

#include "gateway.h"

/* Indexes into struct gateway's upstreams. */
enum { UP_AUTH, UP_INGEST, UP_STATISTICS, UP_ALERTING, UP_SCHEDULER, UP_STORAGE };

#define RW ST_SCOPE_READ, ST_SCOPE_WRITE

static const struct gw_route table[] = {
	/* auth: the caller's own account needs credentials; the rest of /auth is how one gets
	 * them (register, login, refresh, logout, jwks). */
	{ "/api/v1/auth/me", UP_AUTH, GW_AUTHENTICATED, ST_SCOPE_NONE, ST_SCOPE_NONE,
	  GW_CLASS_DEFAULT, 0 },
	{ "/api/v1/auth", UP_AUTH, GW_PUBLIC, ST_SCOPE_NONE, ST_SCOPE_NONE, GW_CLASS_DEFAULT, 0 },
	{ "/.well-known", UP_AUTH, GW_PUBLIC, ST_SCOPE_NONE, ST_SCOPE_NONE, GW_CLASS_DEFAULT, 0 },
	{ "/api/v1/users", UP_AUTH, GW_AUTHENTICATED, ST_SCOPE_ADMIN, ST_SCOPE_ADMIN,
	  GW_CLASS_DEFAULT, 0 },
	{ "/api/v1/api-keys", UP_AUTH, GW_USER_ONLY, ST_SCOPE_NONE, ST_SCOPE_NONE, GW_CLASS_DEFAULT,
	  0 },
	/* ingest: devices (scope ingest) post readings and diagnosis results; users need write */
	{ "/api/v1/sessions/{id}/data", UP_INGEST, GW_AUTHENTICATED, RW, GW_CLASS_DEFAULT,
	  ST_SCOPE_INGEST },
	{ "/api/v1/sessions/{id}/results", UP_INGEST, GW_AUTHENTICATED, RW, GW_CLASS_DEFAULT,
	  ST_SCOPE_INGEST },
	{ "/api/v1/projects", UP_INGEST, GW_AUTHENTICATED, RW, GW_CLASS_DEFAULT, 0 },
	{ "/api/v1/subjects", UP_INGEST, GW_AUTHENTICATED, RW, GW_CLASS_DEFAULT, 0 },
	{ "/api/v1/sessions", UP_INGEST, GW_AUTHENTICATED, RW, GW_CLASS_DEFAULT, 0 },
	/* statistics */
	{ "/api/v1/stats", UP_STATISTICS, GW_AUTHENTICATED, RW, GW_CLASS_DEFAULT, 0 },
	{ "/api/v1/datasets", UP_STATISTICS, GW_AUTHENTICATED, RW, GW_CLASS_DEFAULT, 0 },
	{ "/api/v1/regions", UP_STATISTICS, GW_AUTHENTICATED, RW, GW_CLASS_DEFAULT, 0 },
	/* alerting */
	{ "/api/v1/alerts", UP_ALERTING, GW_AUTHENTICATED, RW, GW_CLASS_DEFAULT, 0 },
	{ "/api/v1/rules", UP_ALERTING, GW_AUTHENTICATED, RW, GW_CLASS_DEFAULT, 0 },
	{ "/api/v1/silences", UP_ALERTING, GW_AUTHENTICATED, RW, GW_CLASS_DEFAULT, 0 },
	/* scheduler */
	{ "/api/v1/jobs", UP_SCHEDULER, GW_AUTHENTICATED, RW, GW_CLASS_DEFAULT, 0 },
	/* storage */
	{ "/api/v1/buckets", UP_STORAGE, GW_AUTHENTICATED, RW, GW_CLASS_DEFAULT, 0 },
	{ "/api/v1/objects", UP_STORAGE, GW_AUTHENTICATED, RW, GW_CLASS_DEFAULT, 0 },
};

/* True when path is prefix itself or prefix followed by '/'; for a pattern, when path
 * matches it whole. */
static bool
prefix_matches(const char *prefix, const char *path)
{
	size_t n = strlen(prefix);

	if (strchr(prefix, '{') != NULL)
		return st_http_route_match(prefix, path, NULL);
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

const struct gw_route *
gw_route_find(const char *path)
{
	for (size_t i = 0; i < ST_ARRAY_LEN(table); i++)
		if (prefix_matches(table[i].prefix, path))
			return &table[i];
	return NULL;
}

size_t
gw_route_count(void)
{
	return ST_ARRAY_LEN(table);
}

const struct gw_route *
gw_route_at(size_t i)
{
	return i < ST_ARRAY_LEN(table) ? &table[i] : NULL;
}

size_t
gw_route_index(const struct gw_route *r)
{
	return (size_t)(r - table);
}

enum gw_class
gw_class_of(const char *path)
{
	return prefix_matches("/api/v1/health", path) ? GW_CLASS_HEALTH : GW_CLASS_DEFAULT;
}
