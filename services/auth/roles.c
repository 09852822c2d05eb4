/*
 * Roles and the scopes they grant. A user holds roles; tokens and API keys carry scopes. The
 * table is the one place that says which role may do what, and this file the one place that
 * reads a list of roles (from the database's comma-separated text or a client's JSON array) or
 * a client's array of scope names. Scope names themselves are libcommon's (principal.h).
 */
#include <string.h>

#include "identity.h"

static const struct {
	const char *name;
	unsigned scopes;
} roles[] = {
	/* ingest for researchers and admins too: they issue their devices' keys, restricted to
	 * ingest (a key never holds more than its user) */
	{ "admin", ST_SCOPE_ALL },
	{ "researcher", ST_SCOPE_READ | ST_SCOPE_WRITE | ST_SCOPE_DASHBOARD | ST_SCOPE_INGEST },
	{ "viewer", ST_SCOPE_READ | ST_SCOPE_DASHBOARD },
	{ "device", ST_SCOPE_INGEST },
};

/* Distinct known roles fit in every AUTH_ROLES_MAX array. */
_Static_assert(ST_ARRAY_LEN(roles) <= AUTH_ROLES_MAX, "AUTH_ROLES_MAX below the role table");

bool
auth_role_known(const char *role)
{
	for (size_t i = 0; role != NULL && i < ST_ARRAY_LEN(roles); i++)
		if (strcmp(roles[i].name, role) == 0)
			return true;
	return false;
}

/* The union of the roles' scopes; unknown names grant nothing. */
unsigned
auth_scopes_of_roles(const char *const *names, size_t n)
{
	unsigned scopes = ST_SCOPE_NONE;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; names[i] != NULL && j < ST_ARRAY_LEN(roles); j++)
			if (strcmp(roles[j].name, names[i]) == 0)
				scopes |= roles[j].scopes;
	return scopes;
}

/*
 * Adds the role named by the len bytes at name to names (*n of them so far), as the table's
 * own string. ST_ERR_INVALID when no role has that name, ST_ERR_CONFLICT when it is there
 * already; names is unchanged then.
 */
static enum st_err
role_add(const char *name, size_t len, const char **names, size_t *n)
{
	for (size_t i = 0; i < ST_ARRAY_LEN(roles); i++) {
		if (strlen(roles[i].name) != len || strncmp(roles[i].name, name, len) != 0)
			continue;
		for (size_t j = 0; j < *n; j++)
			if (names[j] == roles[i].name)
				return ST_ERR_CONFLICT;
		names[(*n)++] = roles[i].name;
		return ST_OK;
	}
	return ST_ERR_INVALID;
}

enum st_err
auth_roles_parse(const char *list, const char **names, size_t *n)
{
	enum st_err rc = ST_OK;
	const char *p = list;

	*n = 0;
	if (*p == '\0')
		return ST_OK;
	for (;;) {
		size_t len = strcspn(p, ",");
		enum st_err one = role_add(p, len, names, n);

		if (rc == ST_OK)
			rc = one;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	return rc;
}

bool
auth_roles_parse_json(const cJSON *arr, const char *field, const char **names, size_t *n,
		      struct st_json_errs *errs)
{
	const cJSON *it;

	*n = 0;
	cJSON_ArrayForEach(it, arr)
	{
		enum st_err rc = ST_ERR_INVALID;

		if (cJSON_IsString(it))
			rc = role_add(it->valuestring, strlen(it->valuestring), names, n);
		if (rc == ST_ERR_CONFLICT) {
			st_json_errs_add(errs, field, "must not name a role twice");
			return false;
		}
		if (rc != ST_OK) {
			st_json_errs_add(errs, field, "must hold only %s", AUTH_ROLE_NAMES);
			return false;
		}
	}
	return true;
}

/* The scope names as the sentence "read, write, admin, dashboard, ingest". */
static void
scope_names_sentence(char *buf, size_t cap)
{
	char list[128];
	size_t n = 0;

	buf[0] = '\0';
	if (!st_scopes_format(ST_SCOPE_ALL, list, sizeof(list)))
		return;
	for (const char *p = list; *p != '\0' && n + 3 < cap; p++) {
		buf[n++] = *p;
		if (*p == ',')
			buf[n++] = ' ';
	}
	buf[n] = '\0';
}

bool
auth_scopes_parse_json(const cJSON *arr, const char *field, unsigned *scopes,
		       struct st_json_errs *errs)
{
	const cJSON *it;
	size_t before = errs->total;
	int i = 0;

	*scopes = ST_SCOPE_NONE;
	cJSON_ArrayForEach(it, arr)
	{
		unsigned one = ST_SCOPE_NONE;
		const char *s = cJSON_IsString(it) ? it->valuestring : "";

		/* one name per item: st_scopes_parse would also take "read,write" or "" */
		if (s[0] != '\0' && s[strcspn(s, ", ")] == '\0' && st_scopes_parse(s, &one)) {
			*scopes |= one;
		} else {
			char name[64], names[128];

			snprintf(name, sizeof(name), "%s[%d]", field, i);
			scope_names_sentence(names, sizeof(names));
			st_json_errs_add(errs, name, "must be one of %s", names);
		}
		i++;
	}
	if (i == 0)
		st_json_errs_add(errs, field, "must name at least one scope");
	return errs->total == before;
}

cJSON *
auth_scopes_json(unsigned scopes)
{
	cJSON *arr = cJSON_CreateArray();
	char list[128];
	const char *p = list;

	if (!st_scopes_format(scopes, list, sizeof(list)))
		return arr; /* cannot happen: the buffer holds every name */
	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		char *name = st_strndup(p, len);

		cJSON_AddItemToArray(arr, cJSON_CreateString(name));
		st_free(name);
		p += len + (p[len] == ',');
	}
	return arr;
}
