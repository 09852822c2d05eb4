/*
 * Chunked bodies: st_chunked_feed (libcommon httpc_wire.c), fed the input whole, byte by byte
 * and in pieces of 7. However the bytes arrive, the outcome, the bytes consumed and the body
 * decoded must be the same, and each call consumes at least one byte until the body is done.
 */
#include "fuzz.h"
#include "strata/httpc.h"

static enum st_chunked_rc
decode(const char *in, size_t n, size_t step, char *body, size_t *body_len, size_t *consumed)
{
	struct st_chunked ck = { 0 };
	enum st_chunked_rc rc = ST_CHUNKED_MORE;
	size_t off = 0;

	*body_len = 0;
	while (off < n && rc == ST_CHUNKED_MORE) {
		size_t lim = n - off < step ? n - off : step, used = 0, len = 0;
		const char *piece = NULL;

		rc = st_chunked_feed(&ck, in + off, lim, &used, &piece, &len);
		FUZZ_ASSERT(used <= lim && (used > 0 || rc == ST_CHUNKED_DONE));
		FUZZ_ASSERT(len == 0 || (piece >= in + off && piece + len <= in + off + used));
		if (len > 0)
			memcpy(body + *body_len, piece, len);
		*body_len += len;
		off += used;
	}
	*consumed = off;
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t steps[] = { 1, 7 };
	char *whole = malloc(size + 1), *piecewise = malloc(size + 1);
	size_t wlen, wused, plen, pused;
	enum st_chunked_rc rc = decode((const char *)data, size, size, whole, &wlen, &wused);

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		FUZZ_ASSERT(decode((const char *)data, size, steps[i], piecewise, &plen, &pused) ==
			    rc);
		FUZZ_ASSERT(pused == wused && plen == wlen && memcmp(whole, piecewise, wlen) == 0);
	}
	free(whole);
	free(piecewise);
	return 0;
}
