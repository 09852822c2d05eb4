/*
 * Upstream URLs: st_httpc_split_url (libcommon httpc_wire.c). What it accepts has a non-empty
 * host that fits, a port from 1 to 65535, and a request target inside the URL starting with /.
 */
#include "fuzz.h"
#include "strata/httpc.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = fuzz_cstr(data, size), host[64];
	const char *target = NULL;
	int port = 0;

	if (st_httpc_split_url(url, host, sizeof(host), &port, &target)) {
		FUZZ_ASSERT(host[0] != '\0' && strlen(host) < sizeof(host));
		FUZZ_ASSERT(port >= 1 && port <= 65535 && target[0] == '/');
		FUZZ_ASSERT(strcmp(target, "/") == 0 ||
			    (target > url && target < url + strlen(url)));
	}
	free(url);
	return 0;
}
