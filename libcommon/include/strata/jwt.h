/*
 * JSON Web Tokens in compact JWS form (RFC 7515, 7519), done here with OpenSSL: nothing else
 * parses a token, so no second parser can read a header differently from ours.
 *
 * The algorithm is fixed by the key, never by the token: an RSA key means RS256 (RSASSA-PKCS1
 * v1.5 with SHA-256), and a header naming anything else ("none", HS256, RS512...) is refused
 * before any signature work. Headers and payloads are parsed with st_json_parse, which refuses an
 * object that repeats a key: `{"alg":"RS256",...,"alg":"HS256"}` is malformed, not one of its two
 * readings.
 *
 * Verification is two steps so that a caller can pick the key by the header's kid in between:
 * st_jwt_decode (a pure function over the buffer: split, base64url, JSON, header rules) and
 * st_jwt_verify (the algorithm pin and EVP_DigestVerify over "header.payload"). Claims (exp, iss,
 * aud...) are the caller's: they differ between the gateway and auth.
 */
#ifndef STRATA_JWT_H
#define STRATA_JWT_H

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "strata/core.h"

#define ST_JWT_MAX        8192 /* longest compact token accepted, in bytes */
#define ST_JWT_HEADER_MAX 1024 /* longest decoded header */
#define ST_JWT_SIG_MAX    1024 /* longest signature: RSA moduli up to 8192 bits */
#define ST_JWT_RS256      "RS256"

/* Why a token was refused by this module. */
enum st_jwt_result {
	ST_JWT_OK,
	ST_JWT_MALFORMED, /* not header.payload.signature in base64url (no padding), a part that is
			     not a JSON object, an object repeating a key, typ not "JWT", a crit
			     header, a non-string kid, no signature, or longer than ST_JWT_MAX */
	ST_JWT_ALG,       /* alg absent, or not the algorithm the key fixes (RS256 for RSA) */
	ST_JWT_SIGNATURE, /* the signature does not verify with the key */
};

/* A short constant phrase for a result ("malformed token"); never NULL. */
const char *st_jwt_result_str(enum st_jwt_result r);

/* A decoded token, on the caller's stack: st_jwt_decode fills it, st_jwt_cleanup frees it. */
struct st_jwt {
	cJSON *header;     /* owned: the header object */
	cJSON *payload;    /* owned: the claims object */
	const char *alg;   /* borrowed from header; NULL when absent or not a string */
	const char *kid;   /* borrowed from header; NULL when absent */
	size_t signed_len; /* the signing input is the token's first signed_len bytes */
	unsigned char sig[ST_JWT_SIG_MAX];
	size_t sig_len;
};

/*
 * Splits and decodes the compact token (len bytes, need not be NUL-terminated; a pure
 * function over the buffer, no key involved: the fuzzing entry point for JWT headers and
 * payloads). Checks the header's form: a JSON object with no repeated key, typ absent or
 * "JWT", no crit, kid absent or a string; and the payload's: a JSON object with no repeated
 * key; and a non-empty signature. alg is not judged here (st_jwt_verify pins it), but it is
 * NULL unless a string. ST_JWT_OK fills out; on any result out needs st_jwt_cleanup.
 */
enum st_jwt_result st_jwt_decode(const char *token, size_t len, struct st_jwt *out);
/* Frees the trees and wipes out. Accepts a zeroed or already cleaned struct. */
void st_jwt_cleanup(struct st_jwt *jwt);

/*
 * The algorithm key fixes: ST_JWT_RS256 for an RSA key, NULL for any other key (which this
 * module cannot verify or sign with). Constant string.
 */
const char *st_jwt_key_alg(const EVP_PKEY *key);

/*
 * Verifies a decoded token (from st_jwt_decode over the same token bytes) with key: the
 * header's alg must equal st_jwt_key_alg(key) (ST_JWT_ALG otherwise: the pin), then the
 * signature must verify over token[0, signed_len) with EVP_DigestVerify (ST_JWT_SIGNATURE).
 * key is borrowed; OpenSSL keys may be shared by threads that verify at once.
 */
enum st_jwt_result st_jwt_verify(const struct st_jwt *jwt, const char *token, EVP_PKEY *key);

/*
 * Signs claims (a JSON object, borrowed) with the private key into a compact token whose
 * header is {"alg":"RS256","kid":<kid>,"typ":"JWT"} (kid may be NULL: left out); the payload
 * is the compact text of claims, members in their order. *out is the caller's (st_free).
 * ST_ERR_INVALID when key is not an RSA private key or claims is not an object;
 * ST_ERR_INTERNAL when OpenSSL fails.
 */
enum st_err st_jwt_sign(EVP_PKEY *key, const char *kid, const cJSON *claims, char **out);

/*
 * Reads a PEM key of len bytes: a private key (any PKCS#8 or traditional form) when
 * private_key, else a SubjectPublicKeyInfo public key. NULL when OpenSSL refuses it. The
 * caller owns the key (EVP_PKEY_free).
 */
EVP_PKEY *st_jwt_key_from_pem(const char *pem, size_t len, bool private_key);

#endif
