/*
 * The signed principal (X-Strata-Principal): st_principal_verify (libcommon principal.c) on
 * the header as it came, and on the header signed here with the secret (HMAC-SHA256 over it,
 * ";sig=" appended), so that the fields behind the signature check are reached too. What
 * verifies must sign again (st_principal_sign) to a header that verifies to the same principal.
 */
#include <openssl/hmac.h>

#include "fuzz.h"
#include "strata/encode.h"
#include "strata/principal.h"

#define SECRET "fuzz-internal-secret"
#define NOW_MS INT64_C(1767225600000) /* 2026-01-01T00:00:00Z, the seeds' t */

static void
verify(const char *header)
{
	struct st_principal p, again;
	char err[64], signed_[600];

	if (st_principal_verify(header, SECRET, NOW_MS, 30000, &p, err, sizeof(err)) != ST_OK)
		return;
	FUZZ_ASSERT(st_principal_sign(&p, SECRET, signed_, sizeof(signed_)) == ST_OK);
	FUZZ_ASSERT(st_principal_verify(signed_, SECRET, NOW_MS, 30000, &again, err, sizeof(err)) ==
		    ST_OK);
	FUZZ_ASSERT(strcmp(p.sub, again.sub) == 0 && strcmp(p.kind, again.kind) == 0 &&
		    p.scopes == again.scopes && strcmp(p.request_id, again.request_id) == 0 &&
		    p.issued_ms == again.issued_ms);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *header = fuzz_cstr(data, size), *with_sig;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t n = strlen(header);

	verify(header);
	with_sig = malloc(n + 5 + 64 + 1);
	FUZZ_ASSERT(with_sig != NULL &&
		    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)header,
			 n, mac, &maclen) != NULL);
	memcpy(with_sig, header, n);
	memcpy(with_sig + n, ";sig=", 5);
	st_hex_encode(mac, maclen, with_sig + n + 5, 65);
	verify(with_sig);
	free(with_sig);
	free(header);
	return 0;
}
