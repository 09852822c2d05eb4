/*
 * Unit tests for kek.c, the key-encryption key that seals auth's signing keys at rest: what a
 * KEK may look like, its id, sealing and opening (a wrong KEK and any changed byte fail, every
 * seal draws its own nonce), and the settings that name the KEK (exactly one of the file and
 * the value; the previous one optional).
 */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "strata/config.h"

/* The ST_STATIC functions under test. */
enum st_err auth_kek_parse(const char *text, struct auth_kek *out);
void auth_kek_seal(const struct auth_kek *kek, const void *secret, size_t len, unsigned char **box,
		   size_t *boxlen);
enum st_err auth_kek_open(const struct auth_kek *kek, const unsigned char *box, size_t boxlen,
			  char **secret, size_t *len);

#define HEX_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEX_B "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f"
#define PEM                                                                                        \
	"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE "         \
	"KEY-----\n"

static void
kek_of(const char *hex, struct auth_kek *k)
{
	ck_assert_int_ge(sodium_init(), 0);
	ck_assert_int_eq(auth_kek_parse(hex, k), ST_OK);
}

START_TEST(keks_are_64_hex_digits)
{
	static const struct {
		const char *text;
		bool ok;
	} cases[] = {
		{ HEX_A, true },
		{ HEX_A "\n", true }, /* a file's newline */
		{ HEX_A " \r\n", true },
		{ "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", true },
		{ "", false },
		{ "\n", false },
		{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1", false },
		{ HEX_A "0", false },
		{ HEX_A HEX_A, false },
		{ " " HEX_A, false },
		{ "0001020304050607 08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", false },
		{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g", false },
		{ "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", false },
		{ "0000000000000000000000000000000000000000000000000000000000000000", false },
		{ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", false }, /* base64 of it */
	};

	ck_assert_int_ge(sodium_init(), 0);
	for (size_t i = 0; i < ST_ARRAY_LEN(cases); i++) {
		struct auth_kek k;

		memset(&k, 0x55, sizeof(k));
		ck_assert_msg((auth_kek_parse(cases[i].text, &k) == ST_OK) == cases[i].ok,
			      "case %zu", i);
		if (!cases[i].ok) {
			ck_assert(sodium_is_zero(k.key, sizeof(k.key))); /* nothing left behind */
			ck_assert_str_eq(k.id, "");
		}
	}
}
END_TEST

START_TEST(a_kek_id_names_it_without_showing_it)
{
	struct auth_kek a, a2, b, upper;

	kek_of(HEX_A, &a);
	kek_of(HEX_A "\n", &a2);
	kek_of(HEX_B, &b);
	kek_of("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", &upper);
	ck_assert_uint_eq(strlen(a.id), AUTH_KEK_ID_LEN);
	ck_assert_uint_eq(strspn(a.id, "0123456789abcdef"), AUTH_KEK_ID_LEN);
	ck_assert_str_eq(a.id, a2.id);
	ck_assert_str_eq(a.id, upper.id);
	ck_assert_str_ne(a.id, b.id);
	ck_assert_ptr_null(strstr(HEX_A, a.id)); /* not a piece of the key */
	ck_assert_int_eq(memcmp(a.key, "\x00\x01\x02\x03", 4), 0);
	auth_kek_wipe(&a);
	ck_assert(sodium_is_zero((const unsigned char *)&a, sizeof(a)));
}
END_TEST

START_TEST(sealed_keys_open_with_their_kek_only)
{
	struct auth_kek a, b;
	char *hex, *plain = NULL;
	size_t len = 0;

	kek_of(HEX_A, &a);
	kek_of(HEX_B, &b);
	hex = auth_kek_seal_hex(&a, PEM, strlen(PEM));
	ck_assert_ptr_null(strstr(hex, "BEGIN")); /* nothing in clear */
	ck_assert_uint_eq(strlen(hex), 2 * (crypto_secretbox_NONCEBYTES +
					    crypto_secretbox_MACBYTES + strlen(PEM)));
	ck_assert_int_eq(auth_kek_open_hex(&a, hex, &plain, &len), ST_OK);
	ck_assert_uint_eq(len, strlen(PEM));
	ck_assert_str_eq(plain, PEM); /* NUL-terminated */
	auth_secret_free(plain, len);

	ck_assert_int_eq(auth_kek_open_hex(&b, hex, &plain, &len), ST_ERR_AUTH);
	ck_assert_ptr_null(plain);
	ck_assert_uint_eq(len, 0);
	st_free(hex);

	/* an empty secret seals and opens too */
	hex = auth_kek_seal_hex(&a, "", 0);
	ck_assert_int_eq(auth_kek_open_hex(&a, hex, &plain, &len), ST_OK);
	ck_assert_str_eq(plain, "");
	auth_secret_free(plain, len);
	st_free(hex);
}
END_TEST

START_TEST(any_changed_byte_fails_to_open)
{
	struct auth_kek a;
	unsigned char *box = NULL;
	size_t boxlen = 0;
	char *plain = NULL;
	size_t len = 0;

	kek_of(HEX_A, &a);
	auth_kek_seal(&a, PEM, strlen(PEM), &box, &boxlen);
	/* every byte, nonce, MAC and ciphertext alike, and every bit of the first ones */
	for (size_t i = 0; i < boxlen; i++) {
		for (int bit = 0; bit < (i < 2 ? 8 : 1); bit++) {
			box[i] ^= (unsigned char)(1u << bit);
			ck_assert_msg(auth_kek_open(&a, box, boxlen, &plain, &len) == ST_ERR_AUTH,
				      "byte %zu bit %d", i, bit);
			ck_assert_ptr_null(plain);
			box[i] ^= (unsigned char)(1u << bit);
		}
	}
	ck_assert_int_eq(auth_kek_open(&a, box, boxlen, &plain, &len), ST_OK);
	auth_secret_free(plain, len);
	/* cut short, or shorter than a nonce and a MAC */
	ck_assert_int_eq(auth_kek_open(&a, box, boxlen - 1, &plain, &len), ST_ERR_AUTH);
	ck_assert_int_eq(auth_kek_open(&a, box,
				       crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES - 1,
				       &plain, &len),
			 ST_ERR_INVALID);
	ck_assert_int_eq(auth_kek_open(&a, box, 0, &plain, &len), ST_ERR_INVALID);
	st_free(box);

	/* the hex form: not hex, odd, empty */
	ck_assert_int_eq(auth_kek_open_hex(&a, "zz", &plain, &len), ST_ERR_INVALID);
	ck_assert_int_eq(auth_kek_open_hex(&a, "abc", &plain, &len), ST_ERR_INVALID);
	ck_assert_int_eq(auth_kek_open_hex(&a, "", &plain, &len), ST_ERR_INVALID);
	ck_assert_int_eq(auth_kek_open_hex(&a, PEM, &plain, &len), ST_ERR_INVALID);
}
END_TEST

/* Orders nonces for duplicate search. */
static int
nonce_cmp(const void *a, const void *b)
{
	return memcmp(a, b, crypto_secretbox_NONCEBYTES);
}

START_TEST(every_seal_draws_its_own_nonce)
{
	enum { N = 2000 };
	static unsigned char nonces[N][crypto_secretbox_NONCEBYTES];
	struct auth_kek a;
	char *first = NULL;

	kek_of(HEX_A, &a);
	for (int i = 0; i < N; i++) {
		unsigned char *box = NULL;
		size_t boxlen = 0;

		auth_kek_seal(&a, PEM, strlen(PEM), &box, &boxlen);
		memcpy(nonces[i], box, crypto_secretbox_NONCEBYTES);
		st_free(box);
	}
	qsort(nonces, N, sizeof(nonces[0]), nonce_cmp);
	for (int i = 1; i < N; i++)
		ck_assert_msg(memcmp(nonces[i - 1], nonces[i], sizeof(nonces[0])) != 0,
			      "a nonce came twice");
	/* one secret sealed twice: two different boxes */
	first = auth_kek_seal_hex(&a, PEM, strlen(PEM));
	{
		char *second = auth_kek_seal_hex(&a, PEM, strlen(PEM));

		ck_assert_str_ne(first, second);
		st_free(second);
	}
	st_free(first);
}
END_TEST

/* ---- the settings ---- */

static const struct st_config_item kek_items[] = {
	ST_CONFIG_STR("AUTH_KEK_FILE", ""),
	ST_CONFIG_SECRET("AUTH_KEK", "", 0),
	ST_CONFIG_STR("AUTH_KEK_PREVIOUS_FILE", ""),
	ST_CONFIG_SECRET("AUTH_KEK_PREVIOUS", "", 0),
};

START_TEST(the_settings_name_one_kek)
{
	char path_a[] = "/tmp/strata-kek-a-XXXXXX", path_bad[] = "/tmp/strata-kek-bad-XXXXXX";
	int fd_a = mkstemp(path_a), fd_bad = mkstemp(path_bad);
	struct auth_kek a, b;
	const struct {
		const char *file, *value, *prev_file, *prev_value;
		enum st_err rc;
		const struct auth_kek *cur, *prev; /* the KEKs expected (ids compared) */
	} cases[] = {
		{ path_a, "", "", "", ST_OK, &a, NULL },
		{ "", HEX_A, "", "", ST_OK, &a, NULL },
		{ "", HEX_B, path_a, "", ST_OK, &b, &a },
		{ path_a, "", "", HEX_B, ST_OK, &a, &b },
		{ path_a, "", "", HEX_A, ST_OK, &a, NULL },     /* the same twice: no previous */
		{ "", "", "", "", ST_ERR_INVALID, NULL, NULL }, /* required */
		{ "", "", path_a, "", ST_ERR_INVALID, NULL, NULL },    /* a previous alone */
		{ path_a, HEX_B, "", "", ST_ERR_INVALID, NULL, NULL }, /* both: refused */
		{ "", HEX_A, path_a, HEX_B, ST_ERR_INVALID, NULL, NULL },
		{ "", "not hex", "", "", ST_ERR_INVALID, NULL, NULL },
		{ "", HEX_A, "", "12", ST_ERR_INVALID, NULL, NULL },
		{ path_bad, "", "", "", ST_ERR_INVALID, NULL, NULL },
		{ "/nonexistent/strata-kek", "", "", "", ST_ERR_INVALID, NULL, NULL },
	};

	ck_assert(fd_a >= 0 && fd_bad >= 0);
	ck_assert(write(fd_a, HEX_A "\n", strlen(HEX_A) + 1) == (ssize_t)strlen(HEX_A) + 1);
	ck_assert(write(fd_bad, "secret\n", 7) == 7);
	close(fd_a);
	close(fd_bad);
	kek_of(HEX_A, &a);
	kek_of(HEX_B, &b);
	for (size_t i = 0; i < ST_ARRAY_LEN(cases); i++) {
		struct st_config *cfg = st_config_create();
		struct auth_kek cur, prev;
		char err[256];
		enum st_err rc;

		setenv("AUTH_KEK_FILE", cases[i].file, 1);
		setenv("AUTH_KEK", cases[i].value, 1);
		setenv("AUTH_KEK_PREVIOUS_FILE", cases[i].prev_file, 1);
		setenv("AUTH_KEK_PREVIOUS", cases[i].prev_value, 1);
		st_config_add(cfg, kek_items, ST_ARRAY_LEN(kek_items));
		ck_assert_int_eq(st_config_load(cfg, NULL, err, sizeof(err)), ST_OK);
		rc = auth_kek_load(cfg, &cur, &prev);
		ck_assert_msg(rc == cases[i].rc, "case %zu: %s", i, st_err_str(rc));
		if (rc == ST_OK) {
			ck_assert_str_eq(cur.id, cases[i].cur->id);
			ck_assert_int_eq(memcmp(cur.key, cases[i].cur->key, sizeof(cur.key)), 0);
			ck_assert_str_eq(prev.id, cases[i].prev != NULL ? cases[i].prev->id : "");
		} else {
			ck_assert(sodium_is_zero((const unsigned char *)&cur, sizeof(cur)));
			ck_assert(sodium_is_zero((const unsigned char *)&prev, sizeof(prev)));
		}
		st_config_destroy(cfg);
	}
	unlink(path_a);
	unlink(path_bad);
}
END_TEST

Suite *
auth_kek_suite(void)
{
	Suite *s = suite_create("auth_kek");
	TCase *tc = tcase_create("kek");

	tcase_add_test(tc, keks_are_64_hex_digits);
	tcase_add_test(tc, a_kek_id_names_it_without_showing_it);
	tcase_add_test(tc, sealed_keys_open_with_their_kek_only);
	tcase_add_test(tc, any_changed_byte_fails_to_open);
	tcase_add_test(tc, every_seal_draws_its_own_nonce);
	tcase_add_test(tc, the_settings_name_one_kek);
	suite_add_tcase(s, tc);
	return s;
}
