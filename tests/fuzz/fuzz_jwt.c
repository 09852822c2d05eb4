/*
 * Bearer JWTs: gw_jwt_verify (services/gateway/jwks.c) on the input as a token, against a key
 * set holding one RSA key (kid "fuzz"), so that the header and payload are decoded and a token
 * naming the key reaches libjwt; and gw_jwt_check_claims on the input as a payload document.
 */
#include "fuzz.h"
#include "gateway/authn_int.h"

#define NOW_S 1767225600 /* 2026-01-01T00:00:00Z */

static struct gw_jwks *keys;
static const struct gw_jwt_conf conf = { "http://127.0.0.1:8000", "strata", 30 };
static const char jwks[] =
	"{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"fuzz\",\"e\":"
	"\"AQAB\",\"n\":\"k4bxvYokLaY8UftcVG_YPIEGWCzaroVByYmNN-NMcTnoI4f7hMiFOYDZsL2JUJSroGdaj93TL"
	"efs6Ufy-A--qq08tQtywXtjnqgocxN8vN2YryfMQfAxsHvtvKT-477yjEidnyo-Gj2cd6IlFKjRy3acjA8NUm8d2wF"
	"8AYFg6EOLwr3FEswoMPBEQ0SoFKyvCB3Y7vpJ2O-vCXoManzcnaBpg2L7B-fgRp9rqr4TuheaoWo9f51SvK6BOBnG1"
	"r9BAV_vxoUQeeMbY22X7DsGsQ6l_1P3zWaJ4EAO-v9truc88fiGC_AemzrbpNQpaet0d2khc3QzeMvEp2LXRaSYbQ"
	"\"}]}";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct gw_jwks_conf jc = { .httpc = NULL, .refresh_s = 300, .unknown_kid_min_s = 10 };

	(void)argc;
	(void)argv;
	FUZZ_ASSERT(gw_jwks_create(&jc, &keys) == ST_OK);
	FUZZ_ASSERT(gw_jwks_load(keys, jwks, sizeof(jwks) - 1) == ST_OK);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *token = fuzz_cstr(data, size);
	struct gw_jwt_claims claims;
	cJSON *payload = cJSON_ParseWithLength((const char *)data, size);

	gw_jwt_verify(keys, &conf, token, NOW_S, &claims);
	if (payload != NULL && gw_jwt_check_claims(payload, &conf, NOW_S, &claims) == GW_JWT_OK)
		FUZZ_ASSERT(claims.sub[0] != '\0' && claims.jti[0] != '\0');
	cJSON_Delete(payload);
	free(token);
	return 0;
}
