/*
 * Tokens put together by hand for the JWT tests (test_jwt.c, test_gw_jwt.c): any header and
 * payload text, signed RS256 with a key, HMAC-SHA256 keyed with any bytes (the public PEM, for
 * the algorithm-confusion forgeries), or given a signature text as it is. Independent of
 * libcommon's jwt.c on purpose: the forgeries must not depend on the code under test.
 */
#ifndef STRATA_TEST_JWT_FIXTURE_H
#define STRATA_TEST_JWT_FIXTURE_H

#include <openssl/evp.h>

/* base64url(header).base64url(payload).sig; the caller frees the result (free). */
char *ut_jwt_with_sig(const char *header, const char *payload, const char *sig);
/* The same signed RS256 (RSASSA-PKCS1 v1.5, SHA-256) with the private key. */
char *ut_jwt_rs256(const char *header, const char *payload, EVP_PKEY *key);
/* The same signed HMAC-SHA256 keyed with secret (NUL-terminated). */
char *ut_jwt_hs256(const char *header, const char *payload, const char *secret);
/* A fresh RSA key of bits bits and its PEM texts (private and public; the caller frees). */
EVP_PKEY *ut_rsa_key(int bits, char **priv_pem, char **pub_pem);

#endif
