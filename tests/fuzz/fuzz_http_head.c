/*
 * Response heads from an upstream: the status line through st_httpc_parse_status and each
 * header line through st_httpc_parse_header (libcommon httpc.c over httpc_wire.c), up to the
 * empty line, as the client's own sockets read them; Connection-style lists through
 * st_httpc_token_listed. A header that parses has a token name and a value without CR or LF.
 */
#include "fuzz.h"
#include "strata/httpc.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char buf[256];
	long status = 0;

	for (bool first = true; p < end; first = false) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t len = eol != NULL ? (size_t)(eol + 1 - p) : (size_t)(end - p);
		struct st_httpc_header h;

		if (first && !st_httpc_parse_status(p, len, &status))
			return 0;
		if (first)
			FUZZ_ASSERT(status >= 100 && status <= 999);
		else if (len <= 2 && (p[0] == '\n' || p[0] == '\r'))
			return 0; /* the empty line: the body would follow */
		else if (st_httpc_parse_header(p, len, buf, sizeof(buf), &h)) {
			FUZZ_ASSERT(h.name[0] != '\0' && strpbrk(h.name, ": \t\r\n") == NULL);
			FUZZ_ASSERT(strpbrk(h.value, "\r\n") == NULL);
			st_httpc_token_listed(h.value, "close");
			st_httpc_token_listed(h.value, "chunked");
		}
		p += len;
	}
	return 0;
}
