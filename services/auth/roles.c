/*
 * Roles and the scopes they grant. A user holds roles; tokens and API keys carry scopes. The
 * table is the one place that says which role may do what.
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
