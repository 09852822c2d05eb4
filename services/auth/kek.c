/*
 * The key-encryption key (KEK) of the signing keys at rest. auth.signing_keys holds each
 * private key only sealed: a random 24-byte nonce followed by libsodium's crypto_secretbox
 * (XSalsa20-Poly1305) of the PEM under the KEK, with the id of the KEK that sealed it. Reading
 * the table, a dump or a backup no longer gives a key that forges tokens.
 *
 * The KEK is 32 bytes written as 64 hex digits, from AUTH_KEK_FILE (a file holding them, the
 * way secrets are mounted) or AUTH_KEK (the setting itself): exactly one of the two, or the
 * service refuses to start. AUTH_KEK_PREVIOUS_FILE or AUTH_KEK_PREVIOUS names, the same way,
 * the KEK being rotated away from: it only opens, and keys.c reseals what it opens under the
 * current KEK at start-up (docs/operations.md, "The signing keys' KEK").
 *
 * A KEK's id is the first 16 hex digits of BLAKE2b keyed with the KEK over a fixed label: it
 * tells which KEK sealed a row without saying anything about the KEK.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "strata/encode.h"
#include "strata/log.h"

_Static_assert(AUTH_KEK_BYTES == crypto_secretbox_KEYBYTES, "a KEK is a secretbox key");

#define KEK_ID_LABEL    "strata-auth kek id v1"
#define SECRET_FILE_MAX 65536

ST_STATIC enum st_err auth_kek_parse(const char *text, struct auth_kek *out);
ST_STATIC void auth_kek_seal(const struct auth_kek *kek, const void *secret, size_t len,
			     unsigned char **box, size_t *boxlen);
ST_STATIC enum st_err auth_kek_open(const struct auth_kek *kek, const unsigned char *box,
				    size_t boxlen, char **secret, size_t *len);

void
auth_secret_free(char *p, size_t len)
{
	if (p == NULL)
		return;
	sodium_memzero(p, len);
	st_free(p);
}

enum st_err
auth_secret_file_read(const char *path, char **out, size_t *len, char *err, size_t errcap)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0;
	enum st_err rc = ST_ERR_INVALID;

	*out = NULL;
	*len = 0;
	if (f == NULL) {
		st_errf(err, errcap, "cannot open the file");
		goto out;
	}
	buf = st_malloc(SECRET_FILE_MAX + 1);
	n = fread(buf, 1, SECRET_FILE_MAX + 1, f);
	if (ferror(f) || n > SECRET_FILE_MAX) {
		st_errf(err, errcap,
			ferror(f) ? "cannot read the file" : "the file is over 64 KiB");
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	rc = ST_OK;
out:
	auth_secret_free(buf, SECRET_FILE_MAX + 1);
	if (f != NULL)
		fclose(f);
	return rc;
}

/*
 * Reads a KEK from text: 64 hex digits (either case), optionally followed by white space (the
 * newline of a file). ST_ERR_INVALID for anything else, and for a KEK of zero bytes only (a
 * placeholder, not a key).
 */
ST_STATIC enum st_err
auth_kek_parse(const char *text, struct auth_kek *out)
{
	size_t n = strlen(text), bin_len = 0;
	unsigned char id[8];
	const char *end = NULL;

	memset(out, 0, sizeof(*out));
	while (n > 0 && strchr(" \t\r\n", text[n - 1]) != NULL)
		n--;
	if (n != 2 * AUTH_KEK_BYTES ||
	    sodium_hex2bin(out->key, sizeof(out->key), text, n, NULL, &bin_len, &end) != 0 ||
	    bin_len != AUTH_KEK_BYTES || end != text + n ||
	    sodium_is_zero(out->key, sizeof(out->key))) {
		sodium_memzero(out, sizeof(*out));
		return ST_ERR_INVALID;
	}
	crypto_generichash(id, sizeof(id), (const unsigned char *)KEK_ID_LABEL,
			   strlen(KEK_ID_LABEL), out->key, sizeof(out->key));
	st_hex_encode(id, sizeof(id), out->id, sizeof(out->id));
	return ST_OK;
}

/* Seals len bytes of secret under kek into *box (st_free): nonce || MAC || ciphertext, with a
 * nonce of its own drawn at random. */
ST_STATIC void
auth_kek_seal(const struct auth_kek *kek, const void *secret, size_t len, unsigned char **box,
	      size_t *boxlen)
{
	*boxlen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
	*box = st_malloc(*boxlen);
	randombytes_buf(*box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(*box + crypto_secretbox_NONCEBYTES, secret, len, *box, kek->key);
}

/*
 * Opens a box auth_kek_seal made. *secret receives the plaintext, NUL-terminated (the caller
 * frees it with auth_secret_free(*secret, *len)). ST_ERR_AUTH when kek is not the KEK that
 * sealed it or any byte of the box was changed; ST_ERR_INVALID when it is too short to be one.
 */
ST_STATIC enum st_err
auth_kek_open(const struct auth_kek *kek, const unsigned char *box, size_t boxlen, char **secret,
	      size_t *len)
{
	size_t n;
	char *plain;

	*secret = NULL;
	*len = 0;
	if (boxlen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		return ST_ERR_INVALID;
	n = boxlen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	plain = st_malloc(n + 1);
	if (crypto_secretbox_open_easy((unsigned char *)plain, box + crypto_secretbox_NONCEBYTES,
				       boxlen - crypto_secretbox_NONCEBYTES, box, kek->key) != 0) {
		auth_secret_free(plain, n + 1);
		return ST_ERR_AUTH;
	}
	plain[n] = '\0';
	*secret = plain;
	*len = n;
	return ST_OK;
}

char *
auth_kek_seal_hex(const struct auth_kek *kek, const char *secret, size_t len)
{
	unsigned char *box = NULL;
	size_t boxlen = 0;
	char *hex;

	auth_kek_seal(kek, secret, len, &box, &boxlen);
	hex = st_malloc(2 * boxlen + 1);
	st_hex_encode(box, boxlen, hex, 2 * boxlen + 1);
	st_free(box);
	return hex;
}

enum st_err
auth_kek_open_hex(const struct auth_kek *kek, const char *hex, char **secret, size_t *len)
{
	size_t hexlen = strlen(hex), boxlen = 0;
	unsigned char *box;
	const char *end = NULL;
	enum st_err rc = ST_ERR_INVALID;

	*secret = NULL;
	*len = 0;
	if (hexlen == 0 || hexlen % 2 != 0)
		return ST_ERR_INVALID;
	box = st_malloc(hexlen / 2);
	if (sodium_hex2bin(box, hexlen / 2, hex, hexlen, NULL, &boxlen, &end) == 0 &&
	    end == hex + hexlen)
		rc = auth_kek_open(kek, box, boxlen, secret, len);
	st_free(box);
	return rc;
}

/*
 * Reads one KEK from the pair of settings file_name (a path) and value_name (the hex itself).
 * Neither set: ST_OK with kek->id "" when optional, else an error. Every error is one line
 * naming the setting, and never shows a KEK, not even a wrong one.
 */
static enum st_err
kek_from_settings(const struct st_config *cfg, const char *file_name, const char *value_name,
		  bool required, struct auth_kek *kek)
{
	const char *path = st_config_str(cfg, file_name);
	const char *value = st_config_str(cfg, value_name);
	char *text = NULL, err[128];
	size_t len = 0;
	enum st_err rc = ST_OK;

	memset(kek, 0, sizeof(*kek));
	if (path[0] != '\0' && value[0] != '\0') {
		st_log(ST_LOG_ERROR, "keys", "%s and %s are both set: set only one of them",
		       file_name, value_name);
		return ST_ERR_INVALID;
	}
	if (path[0] == '\0' && value[0] == '\0') {
		if (required)
			st_log(ST_LOG_ERROR, "keys",
			       "%s is not set (nor %s): the auth service needs the key that "
			       "encrypts its signing keys, 64 hex digits (openssl rand -hex 32)",
			       file_name, value_name);
		return required ? ST_ERR_INVALID : ST_OK;
	}
	if (value[0] != '\0') {
		rc = auth_kek_parse(value, kek);
		if (rc != ST_OK)
			st_log(ST_LOG_ERROR, "keys",
			       "%s: expected 64 hex digits (32 bytes, not all zero)", value_name);
		return rc;
	}
	rc = auth_secret_file_read(path, &text, &len, err, sizeof(err));
	if (rc == ST_OK && auth_kek_parse(text, kek) != ST_OK) {
		st_errf(err, sizeof(err),
			"expected 64 hex digits (32 bytes, not all zero) in the file");
		rc = ST_ERR_INVALID;
	}
	if (rc != ST_OK)
		st_log(ST_LOG_ERROR, "keys", "%s=%s: %s", file_name, path, err);
	auth_secret_free(text, len);
	return rc;
}

enum st_err
auth_kek_load(const struct st_config *cfg, struct auth_kek *current, struct auth_kek *previous)
{
	enum st_err rc;

	if (sodium_init() < 0) {
		st_log(ST_LOG_ERROR, "keys", "libsodium cannot start");
		return ST_ERR_INTERNAL;
	}
	rc = kek_from_settings(cfg, "AUTH_KEK_FILE", "AUTH_KEK", true, current);
	if (rc == ST_OK)
		rc = kek_from_settings(cfg, "AUTH_KEK_PREVIOUS_FILE", "AUTH_KEK_PREVIOUS", false,
				       previous);
	if (rc != ST_OK) {
		auth_kek_wipe(current);
		auth_kek_wipe(previous);
		return rc;
	}
	if (previous->id[0] != '\0' && strcmp(previous->id, current->id) == 0)
		auth_kek_wipe(previous); /* the same KEK twice: nothing to rotate from */
	st_log(ST_LOG_INFO, "keys", "signing keys sealed with kek_id=%s%s%s", current->id,
	       previous->id[0] != '\0' ? " previous kek_id=" : "", previous->id);
	return ST_OK;
}

void
auth_kek_wipe(struct auth_kek *kek)
{
	sodium_memzero(kek, sizeof(*kek));
}
