/*
 * The keyed hash of hash.h: libsodium's crypto_shorthash (SipHash-2-4, 64-bit output) under one
 * random key a process, made once behind pthread_once so that every thread hashes alike.
 */
#include "strata/hash.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

static unsigned char hash_key[crypto_shorthash_KEYBYTES];
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;

static void
hash_key_init(void)
{
	st_random_bytes(hash_key, sizeof(hash_key));
}

uint64_t
st_hash_keyed(const void *data, size_t n)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	pthread_once(&hash_once, hash_key_init);
	crypto_shorthash(out, data, (unsigned long long)n, hash_key);
	memcpy(&h, out, sizeof(h));
	return h;
}
