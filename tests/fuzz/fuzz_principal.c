/*
 * The signed principal (X-Strata-Principal): st_principal_parse and st_principal_verify
 * (libcommon principal.c) on the header as it came. What parses is signed again by the gateway
 * for ingest (st_principal_sign) and must verify there, to the same principal, for its request
 * only: the same header on another path is refused.
 */
#include "fuzz.h"
#include "strata/principal.h"

#define KEY    "gateway>ingest:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define NOW_MS INT64_C(1767225600000) /* 2026-01-01T00:00:00Z, the seeds' t */

static struct st_principal_keys *gateway, *ingest;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[128];

	(void)argc;
	(void)argv;
	FUZZ_ASSERT(st_principal_keys_create("gateway", KEY, &gateway, err, sizeof(err)) == ST_OK);
	FUZZ_ASSERT(st_principal_keys_create("ingest", KEY, &ingest, err, sizeof(err)) == ST_OK);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct st_principal_bind bind = { "GET", "/api/v1/projects", "limit=10" };
	const struct st_principal_bind other = { "GET", "/api/v1/projects/x", "limit=10" };
	char *header = fuzz_cstr(data, size), err[64], again[ST_PRINCIPAL_WIRE_MAX];
	struct st_principal p, v;
	size_t signed_len = 0;

	st_principal_verify(header, ingest, &bind, NOW_MS, 30000, &v, err, sizeof(err));
	if (st_principal_parse(header, &p, &signed_len, err, sizeof(err)) == ST_OK) {
		FUZZ_ASSERT(signed_len < strlen(header) &&
			    strncmp(header + signed_len, ";sig=", 5) == 0);
		if (st_principal_sign(&p, gateway, "ingest", &bind, again, sizeof(again)) ==
		    ST_OK) {
			FUZZ_ASSERT(st_principal_verify(again, ingest, &bind, p.issued_ms, 0, &v,
							err, sizeof(err)) == ST_OK);
			FUZZ_ASSERT(strcmp(v.sub, p.sub) == 0 && strcmp(v.kind, p.kind) == 0 &&
				    v.scopes == p.scopes && v.issued_ms == p.issued_ms &&
				    strcmp(v.signer, "gateway") == 0 &&
				    strcmp(v.target, "ingest") == 0);
			FUZZ_ASSERT(st_principal_verify(again, ingest, &other, p.issued_ms, 0, &v,
							err, sizeof(err)) != ST_OK);
		}
	}
	free(header);
	return 0;
}
