/*
 * The client behind a request, as the identity half records it in the lockout's counters and
 * in audit events: its address, as libcommon chooses it (X-Real-IP or X-Forwarded-For only
 * from a trusted proxy, TRUSTED_PROXIES). Its own file so that audit.c and users.c both depend
 * on it and not on each other.
 */
#include "identity.h"

const char *
auth_client_addr(struct st_req *req)
{
	return st_http_client_addr(req);
}
