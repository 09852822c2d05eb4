/*
 * Route patterns: literal segments, `{name}` for one segment and a final `{name*}` for the
 * rest of the path. Matching walks pattern and path segment by segment without allocating
 * until it knows the route matches.
 */
#include "strata/http.h"

#include <string.h>

/* Length of the segment starting at s (up to '/' or the end). */
static size_t
seg_len(const char *s)
{
	return strcspn(s, "/");
}

static bool
is_param(const char *seg, size_t len, bool *rest)
{
	if (len < 3 || seg[0] != '{' || seg[len - 1] != '}')
		return false;
	*rest = seg[len - 2] == '*';
	return true;
}

bool
st_http_pattern_valid(const char *pattern)
{
	const char *p = pattern;

	if (p[0] != '/')
		return false;
	if (p[1] == '\0')
		return true;
	while (*p == '/') {
		size_t len = seg_len(++p);
		bool rest = false;

		if (len == 0)
			return false;
		if (memchr(p, '{', len) != NULL || memchr(p, '}', len) != NULL) {
			if (!is_param(p, len, &rest) || len < (rest ? 4u : 3u))
				return false;
			/* The name itself holds no brace or star: "{a{b}" and "{a*b}" are typos. */
			if (strcspn(p + 1, "{}*") < len - 2 - (rest ? 1u : 0u))
				return false;
			if (rest && p[len] != '\0')
				return false;
		}
		p += len;
	}
	return *p == '\0';
}

/* Matches without recording anything; the same walk as st_http_route_match. */
static bool
walk(const char *pattern, const char *path, struct st_http_params *params)
{
	const char *p = pattern, *u = path;

	if (*p != '/' || *u != '/')
		return false;
	if (strcmp(p, "/") == 0)
		return strcmp(u, "/") == 0;
	while (*p == '/') {
		size_t plen, ulen;
		bool rest = false;

		p++;
		if (*u != '/')
			return false;
		u++;
		plen = seg_len(p);
		ulen = seg_len(u);
		if (is_param(p, plen, &rest)) {
			if (rest)
				ulen = strlen(u);
			if (ulen == 0)
				return false;
			if (params != NULL && params->n < ST_HTTP_MAX_PARAMS) {
				params->names[params->n] = p + 1;
				params->name_lens[params->n] = plen - 2 - (rest ? 1 : 0);
				params->values[params->n] = st_strndup(u, ulen);
				params->n++;
			}
		} else if (plen != ulen || memcmp(p, u, plen) != 0) {
			return false;
		}
		p += plen;
		u += ulen;
	}
	return *p == '\0' && *u == '\0';
}

bool
st_http_route_match(const char *pattern, const char *path, struct st_http_params *params)
{
	if (params != NULL)
		params->n = 0;
	if (!walk(pattern, path, NULL))
		return false;
	if (params != NULL)
		walk(pattern, path, params);
	return true;
}

void
st_http_params_cleanup(struct st_http_params *params)
{
	for (size_t i = 0; i < params->n; i++)
		st_free(params->values[i]);
	params->n = 0;
}
