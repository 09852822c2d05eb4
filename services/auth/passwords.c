/*
 * Passwords: Argon2id hashes through libsodium's crypto_pwhash_str (the interactive limits:
 * about 100 ms and 64 MiB a hash), verification that takes as long for an unknown account as
 * for a known one, and the password policy with an answer a person can act on.
 *
 * Each hash holds 64 MiB for its duration, so the number running at once is bounded (a burst
 * of logins on 64 server threads would otherwise ask for 4 GiB): callers beyond the bound wait
 * their turn.
 */
#include <pthread.h>
#include <string.h>

#include "identity.h"
#include "strata/encode.h"
#include "strata/log.h"
#include "strata/text.h"

static struct {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	int running;
	int max;
	bool ready;
	char dummy[AUTH_PASSWORD_HASH_CAP]; /* the hash of a random password nobody knows */
} pw = { .lock = PTHREAD_MUTEX_INITIALIZER, .freed = PTHREAD_COND_INITIALIZER };

enum st_err
auth_passwords_init(int concurrency)
{
	unsigned char secret[32];
	char text[65];
	enum st_err rc = ST_OK;

	pthread_mutex_lock(&pw.lock);
	if (pw.ready)
		goto out;
	if (sodium_init() < 0) {
		st_log(ST_LOG_ERROR, "passwords", "libsodium failed to initialize");
		rc = ST_ERR_INTERNAL;
		goto out;
	}
	pw.max = concurrency > 0 ? concurrency : 1;
	st_random_bytes(secret, sizeof(secret));
	st_hex_encode(secret, sizeof(secret), text, sizeof(text));
	if (crypto_pwhash_str(pw.dummy, text, strlen(text), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		st_log(ST_LOG_ERROR, "passwords", "cannot make the dummy hash (out of memory)");
		rc = ST_ERR_INTERNAL;
		goto out;
	}
	pw.ready = true;
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(text, sizeof(text));
	pthread_mutex_unlock(&pw.lock);
	return rc;
}

void
auth_passwords_fini(void)
{
	pthread_mutex_lock(&pw.lock);
	pw.ready = false;
	pthread_mutex_unlock(&pw.lock);
}

/* Waits for one of the pw.max slots. */
static void
slot_take(void)
{
	pthread_mutex_lock(&pw.lock);
	while (pw.running >= (pw.max > 0 ? pw.max : 1)) /* 1 before auth_passwords_init */
		pthread_cond_wait(&pw.freed, &pw.lock);
	pw.running++;
	pthread_mutex_unlock(&pw.lock);
}

static void
slot_give(void)
{
	pthread_mutex_lock(&pw.lock);
	pw.running--;
	pthread_cond_signal(&pw.freed);
	pthread_mutex_unlock(&pw.lock);
}

bool
auth_password_policy(const char *password, const char *field, struct st_json_errs *errs)
{
	const unsigned char *s = (const unsigned char *)password;
	size_t bytes = strlen(password), chars = 0;
	bool lower = false, upper = false, digit = false, other = false, clean = true;
	size_t before = errs->total;

	for (size_t i = 0; i < bytes;) {
		size_t len = st_utf8_seq(s + i, bytes - i);

		if (len == 0 || s[i] < 0x20 || s[i] == 0x7f || (s[i] == 0xc2 && s[i + 1] < 0xa0)) {
			clean = false; /* not UTF-8, or a C0, DEL or C1 control character */
			break;
		}
		if (s[i] >= 'a' && s[i] <= 'z')
			lower = true;
		else if (s[i] >= 'A' && s[i] <= 'Z')
			upper = true;
		else if (s[i] >= '0' && s[i] <= '9')
			digit = true;
		else
			other = true;
		chars++;
		i += len;
	}
	if (!clean) {
		st_json_errs_add(errs, field, "must be UTF-8 text without control characters");
		return false;
	}
	if (chars < AUTH_PASSWORD_MIN_CHARS)
		st_json_errs_add(errs, field, "must be at least %d characters long",
				 AUTH_PASSWORD_MIN_CHARS);
	if (bytes > AUTH_PASSWORD_MAX_BYTES)
		st_json_errs_add(errs, field, "must be at most %d bytes long",
				 AUTH_PASSWORD_MAX_BYTES);
	if ((int)lower + (int)upper + (int)digit + (int)other < 2)
		st_json_errs_add(errs, field,
				 "must mix at least two kinds of characters: lower case, upper "
				 "case, digits, symbols");
	return errs->total == before;
}

enum st_err
auth_password_hash(const char *password, char out[AUTH_PASSWORD_HASH_CAP])
{
	int r;

	slot_take();
	r = crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE);
	slot_give();
	if (r != 0) {
		st_log(ST_LOG_ERROR, "passwords", "hashing failed (out of memory)");
		return ST_ERR_INTERNAL;
	}
	return ST_OK;
}

bool
auth_password_verify(const char *hash, const char *password)
{
	bool known = hash != NULL && hash[0] != '\0';
	int r;

	slot_take();
	r = crypto_pwhash_str_verify(known ? hash : pw.dummy, password, strlen(password));
	slot_give();
	return known && r == 0;
}
