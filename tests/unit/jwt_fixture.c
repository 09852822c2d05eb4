/*
 * Hand-made tokens for the JWT tests: see jwt_fixture.h. Plain OpenSSL, asserting with Check.
 */
#include "jwt_fixture.h"

#include <check.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/encode.h"

static char *
b64(const void *data, size_t n)
{
	size_t cap = st_base64url_len(n) + 1;
	char *out = malloc(cap);

	ck_assert(st_base64url_encode(data, n, out, cap));
	return out;
}

/* base64url(header).base64url(payload) */
static char *
signing_input(const char *header, const char *payload)
{
	char *h = b64(header, strlen(header)), *p = b64(payload, strlen(payload));
	size_t n = strlen(h) + strlen(p) + 2;
	char *out = malloc(n);

	snprintf(out, n, "%s.%s", h, p);
	free(h);
	free(p);
	return out;
}

static char *
joined(char *input, const unsigned char *sig, size_t siglen)
{
	char *s = b64(sig, siglen);
	size_t n = strlen(input) + strlen(s) + 2;
	char *out = malloc(n);

	snprintf(out, n, "%s.%s", input, s);
	free(s);
	free(input);
	return out;
}

char *
ut_jwt_with_sig(const char *header, const char *payload, const char *sig)
{
	char *input = signing_input(header, payload);
	size_t n = strlen(input) + strlen(sig) + 2;
	char *out = malloc(n);

	snprintf(out, n, "%s.%s", input, sig);
	free(input);
	return out;
}

char *
ut_jwt_rs256(const char *header, const char *payload, EVP_PKEY *key)
{
	char *input = signing_input(header, payload);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);

	ck_assert(ctx != NULL && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1);
	ck_assert(EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input, strlen(input)) ==
		  1);
	EVP_MD_CTX_free(ctx);
	return joined(input, sig, siglen);
}

char *
ut_jwt_hs256(const char *header, const char *payload, const char *secret)
{
	char *input = signing_input(header, payload);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), secret, (int)strlen(secret),
				   (const unsigned char *)input, strlen(input), mac, &maclen));
	return joined(input, mac, maclen);
}

static char *
bio_text(BIO *bio)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	char *out = malloc((size_t)n + 1);

	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(bio);
	return out;
}

EVP_PKEY *
ut_rsa_key(int bits, char **priv_pem, char **pub_pem)
{
	EVP_PKEY *key = EVP_RSA_gen((unsigned)bits);
	BIO *bio;

	ck_assert_ptr_nonnull(key);
	if (priv_pem != NULL) {
		bio = BIO_new(BIO_s_mem());
		ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), 1);
		*priv_pem = bio_text(bio);
	}
	if (pub_pem != NULL) {
		bio = BIO_new(BIO_s_mem());
		ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, key), 1);
		*pub_pem = bio_text(bio);
	}
	return key;
}
