/*
 * The client behind a request, as the identity half records it in the lockout's counters and
 * in audit events: its address. Its own file so that audit.c and users.c both depend on it and
 * not on each other.
 */
#include "identity.h"

const char *
auth_client_addr(struct st_req *req)
{
	const char *real = st_http_header(req, "X-Real-IP");
	size_t n = 0;

	if (real == NULL)
		return st_http_remote_addr(req);
	for (; real[n] != '\0'; n++) {
		char c = real[n];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
		      c == '.' || c == ':'))
			return st_http_remote_addr(req);
	}
	return (n >= 2 && n <= 45) ? real : st_http_remote_addr(req);
}
