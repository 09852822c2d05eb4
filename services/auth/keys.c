/*
 * The JWT signing keys: one RSA key signs (the newest unretired row of auth.signing_keys, so
 * that every auth replica signs with the same key), and every key retired recently enough that
 * tokens it signed may still be alive stays published in the JWKS.
 *
 * The first replica to start generates a key (RSA-2048, OpenSSL 3) under a transaction-scoped
 * advisory lock, so that two replicas starting together do not both generate; a key older than
 * AUTH_KEY_ROTATE_DAYS is replaced the same way and retired. AUTH_JWT_PRIVATE_KEY_FILE names a
 * PEM to sign with instead (imported into the table so that the other replicas publish it).
 * auth_keys_refresh, run periodically by main.c's loop, repeats this and reloads the table, so
 * a rotation on one replica reaches the others within one interval.
 *
 * The private key leaves the process only into auth.signing_keys, and only sealed under the
 * key-encryption key (kek.c): the table holds nonce || crypto_secretbox of the PEM and the
 * KEK's id, never the PEM. Rows of older versions (plaintext private_pem) are sealed, and
 * private_pem set to NULL, under the advisory lock at start-up and at each refresh; rows sealed
 * under AUTH_KEK_PREVIOUS are resealed under AUTH_KEK at start-up. An opened key must have the
 * row's kid (computed again from the key), so a box moved to another row is refused too. It is
 * never logged; in memory it is held under a read-write lock and handed to the signer as a copy
 * that is wiped.
 */
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "strata/db.h"
#include "strata/encode.h"
#include "strata/log.h"

/* pg_advisory_xact_lock key of key generation: "strata-auth-keys" folded to 63 bits. */
#define KEYS_LOCK_ID "7235117253746101"
/* A retired key stays published this long beyond the access-token lifetime: replicas may sign
 * with it until their next refresh, and gateways cache the JWKS. */
#define KEYS_PUBLISH_SLACK_S 600

/* One published key. */
struct pubkey {
	char kid[AUTH_KID_LEN + 1];
	char *public_pem; /* owned */
};

struct auth_keys {
	pthread_rwlock_t lock;
	/* the signing key: kid and private PEM (owned, wiped when replaced) */
	char sign_kid[AUTH_KID_LEN + 1];
	char *sign_pem;
	size_t sign_len;
	/* the published keys and the JWKS rendered from them (owned) */
	struct pubkey *pubs;
	size_t npubs;
	char *jwks;
	size_t jwks_len;
	/* AUTH_JWT_PRIVATE_KEY_FILE's key, read once at init (owned, wiped), or NULL */
	char *fixed_pem;
	size_t fixed_len;
	char fixed_kid[AUTH_KID_LEN + 1];
	char *fixed_pub;
	/* the key-encryption keys: the one that seals, and the one rotated away from (id "") */
	struct auth_kek kek, kek_prev;
	int rotate_days; /* AUTH_KEY_ROTATE_DAYS, 0: never */
	int publish_s;   /* how long a retired key stays published */
};

/* ---- pure parts (unit-tested) ---- */

ST_STATIC enum st_err auth_key_kid(EVP_PKEY *pkey, char *kid);
ST_STATIC enum st_err auth_key_from_pem(const char *pem, char **priv, size_t *priv_len, char **pub,
					char *kid, char *err, size_t errcap);
ST_STATIC enum st_err auth_key_generate(unsigned bits, char **priv, size_t *priv_len);
ST_STATIC cJSON *auth_key_jwk(const char *kid, const char *public_pem);

/* The text a memory BIO holds, as a new NUL-terminated string (st_free); NULL on failure. */
static char *
bio_take(BIO *bio, size_t *len)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	char *out;

	if (n <= 0 || data == NULL)
		return NULL;
	out = st_malloc((size_t)n + 1);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return out;
}

/* Parses a PEM private or public key; NULL when it is neither. */
static EVP_PKEY *
pem_read_key(const char *pem, bool private_key)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey = NULL;

	if (bio == NULL)
		return NULL;
	if (private_key)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	else
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return pkey;
}

/*
 * The kid of a key: the first 16 hex digits of the SHA-256 of its public key in DER
 * (SubjectPublicKeyInfo). kid must hold AUTH_KID_LEN + 1 bytes.
 */
ST_STATIC enum st_err
auth_key_kid(EVP_PKEY *pkey, char *kid)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pkey, &der);
	char hex[65];

	if (n <= 0)
		return ST_ERR_INTERNAL;
	st_sha256_hex(der, (size_t)n, hex);
	OPENSSL_free(der);
	memcpy(kid, hex, AUTH_KID_LEN);
	kid[AUTH_KID_LEN] = '\0';
	return ST_OK;
}

/*
 * Checks that pem is an RSA private key of at least 2048 bits and writes its canonical private
 * PEM (PKCS#8), public PEM and kid. *priv and *pub are the caller's (free *priv with
 * auth_secret_free). err receives a reason that never contains key material.
 */
ST_STATIC enum st_err
auth_key_from_pem(const char *pem, char **priv, size_t *priv_len, char **pub, char *kid, char *err,
		  size_t errcap)
{
	EVP_PKEY *pkey = pem_read_key(pem, true);
	BIO *pbio = NULL, *ubio = NULL;
	enum st_err rc = ST_ERR_INVALID;

	*priv = NULL;
	*pub = NULL;
	if (pkey == NULL) {
		st_errf(err, errcap, "not a PEM private key");
		goto out;
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		st_errf(err, errcap, "not an RSA key (RS256 needs RSA)");
		goto out;
	}
	if (EVP_PKEY_get_bits(pkey) < 2048) {
		st_errf(err, errcap, "an RSA key of %d bits: at least 2048 are needed",
			EVP_PKEY_get_bits(pkey));
		goto out;
	}
	rc = ST_ERR_INTERNAL;
	pbio = BIO_new(BIO_s_secmem());
	ubio = BIO_new(BIO_s_mem());
	if (pbio == NULL || ubio == NULL ||
	    PEM_write_bio_PrivateKey(pbio, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_PUBKEY(ubio, pkey) != 1 || auth_key_kid(pkey, kid) != ST_OK) {
		st_errf(err, errcap, "OpenSSL could not serialize the key");
		goto out;
	}
	*priv = bio_take(pbio, priv_len);
	*pub = bio_take(ubio, NULL);
	if (*priv == NULL || *pub == NULL) {
		auth_secret_free(*priv, *priv_len);
		st_free(*pub);
		*priv = NULL;
		*pub = NULL;
		goto out;
	}
	rc = ST_OK;
out:
	BIO_free_all(pbio);
	BIO_free_all(ubio);
	EVP_PKEY_free(pkey);
	return rc;
}

/* Generates an RSA key of bits and writes its private PEM (PKCS#8; auth_secret_free it). */
ST_STATIC enum st_err
auth_key_generate(unsigned bits, char **priv, size_t *priv_len)
{
	EVP_PKEY *pkey = EVP_RSA_gen(bits);
	BIO *bio = NULL;
	enum st_err rc = ST_ERR_INTERNAL;

	*priv = NULL;
	if (pkey == NULL)
		goto out;
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL || PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	*priv = bio_take(bio, priv_len);
	if (*priv != NULL)
		rc = ST_OK;
out:
	BIO_free_all(bio);
	EVP_PKEY_free(pkey);
	return rc;
}

/* One big-number parameter of an RSA key (n or e) as base64url; NULL on failure (st_free). */
static char *
bn_param_b64url(EVP_PKEY *pkey, const char *param)
{
	BIGNUM *bn = NULL;
	unsigned char *bin = NULL;
	char *out = NULL;
	int n;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
		goto out;
	n = BN_num_bytes(bn);
	if (n <= 0)
		goto out;
	bin = st_malloc((size_t)n);
	if (BN_bn2bin(bn, bin) != n)
		goto out;
	out = st_malloc(st_base64url_len((size_t)n) + 1);
	if (!st_base64url_encode(bin, (size_t)n, out, st_base64url_len((size_t)n) + 1)) {
		st_free(out);
		out = NULL;
	}
out:
	st_free(bin);
	BN_free(bn);
	return out;
}

/*
 * The JWK of a public key PEM: {kty "RSA", use "sig", alg "RS256", kid, n, e}. NULL when the
 * PEM is not an RSA public key. The caller owns the tree.
 */
ST_STATIC cJSON *
auth_key_jwk(const char *kid, const char *public_pem)
{
	EVP_PKEY *pkey = pem_read_key(public_pem, false);
	char *n = NULL, *e = NULL;
	cJSON *jwk = NULL;

	if (pkey == NULL || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
		goto out;
	n = bn_param_b64url(pkey, OSSL_PKEY_PARAM_RSA_N);
	e = bn_param_b64url(pkey, OSSL_PKEY_PARAM_RSA_E);
	if (n == NULL || e == NULL)
		goto out;
	jwk = cJSON_CreateObject();
	cJSON_AddStringToObject(jwk, "kty", "RSA");
	cJSON_AddStringToObject(jwk, "use", "sig");
	cJSON_AddStringToObject(jwk, "alg", "RS256");
	cJSON_AddStringToObject(jwk, "kid", kid);
	cJSON_AddStringToObject(jwk, "n", n);
	cJSON_AddStringToObject(jwk, "e", e);
out:
	st_free(n);
	st_free(e);
	EVP_PKEY_free(pkey);
	return jwk;
}

/* ---- the table ---- */

/* Runs sql on conn and frees the result; logs a failure under what. */
static enum st_err
exec(struct st_db_conn *conn, const char *what, const char *sql, int n, const char *const *params)
{
	char err[256];
	enum st_err rc = st_db_query(conn, sql, n, params, NULL, err, sizeof(err));

	if (rc != ST_OK)
		st_log(ST_LOG_ERROR, "keys", "%s failed: %s (%s)", what, st_err_str(rc), err);
	return rc;
}

/* The KEK of keys that has the id kek_id, or NULL when neither has it. */
static const struct auth_kek *
kek_of(const struct auth_keys *keys, const char *kek_id)
{
	if (strcmp(kek_id, keys->kek.id) == 0)
		return &keys->kek;
	if (keys->kek_prev.id[0] != '\0' && strcmp(kek_id, keys->kek_prev.id) == 0)
		return &keys->kek_prev;
	return NULL;
}

/*
 * Opens the sealed private key of row kid (box: the hex of private_box, kek_id: who sealed it)
 * with whichever of the KEKs has that id, and checks that the key inside is kid's. *pem is the
 * caller's (auth_secret_free(*pem, *len)). ST_ERR_AUTH, logged with the reason, otherwise.
 */
static enum st_err
open_private(const struct auth_keys *keys, const char *kid, const char *box, const char *kek_id,
	     char **pem, size_t *len)
{
	const struct auth_kek *kek = kek_of(keys, kek_id);
	char *plain = NULL, *priv = NULL, *pub = NULL;
	size_t plain_len = 0, priv_len = 0;
	char got[AUTH_KID_LEN + 1], err[128];
	enum st_err rc = ST_ERR_AUTH;

	*pem = NULL;
	*len = 0;
	if (kek == NULL) {
		st_log(ST_LOG_ERROR, "keys",
		       "the private key of kid=%s is sealed under kek_id=%.16s, which is neither "
		       "AUTH_KEK's (kek_id=%s) nor AUTH_KEK_PREVIOUS's",
		       kid, kek_id, keys->kek.id);
		goto out;
	}
	if (auth_kek_open_hex(kek, box, &plain, &plain_len) != ST_OK) {
		st_log(ST_LOG_ERROR, "keys",
		       "the private key of kid=%s does not open with kek_id=%s: the row was "
		       "changed",
		       kid, kek->id);
		goto out;
	}
	if (auth_key_from_pem(plain, &priv, &priv_len, &pub, got, err, sizeof(err)) != ST_OK ||
	    strcmp(got, kid) != 0) {
		st_log(ST_LOG_ERROR, "keys", "the sealed private key of kid=%s is not that key",
		       kid);
		goto out;
	}
	*pem = plain;
	*len = plain_len;
	plain = NULL;
	rc = ST_OK;
out:
	auth_secret_free(plain, plain_len);
	auth_secret_free(priv, priv_len);
	st_free(pub);
	return rc;
}

/*
 * Seals rows of older versions (private_pem in clear) under the current KEK and empties their
 * private_pem, on conn (in the caller's transaction, under the advisory lock). With rewrap,
 * also reseals under it the rows sealed under AUTH_KEK_PREVIOUS. A row that cannot be opened
 * is left as it is, with a warning: keys_load refuses to sign with it.
 */
static enum st_err
seal_stored(struct st_db_conn *conn, const struct auth_keys *keys, bool rewrap)
{
	const char *params[] = { keys->kek.id, rewrap ? "t" : "f" };
	struct st_db_result *res = NULL;
	char err[256];
	size_t sealed = 0;
	enum st_err rc;

	rc = st_db_query(conn,
			 "SELECT kid, private_pem IS NOT NULL, COALESCE(private_pem, ''), "
			 "COALESCE(encode(private_box, 'hex'), ''), COALESCE(kek_id, '') "
			 "FROM signing_keys WHERE private_pem IS NOT NULL OR "
			 "($2::boolean AND kek_id <> $1) FOR UPDATE",
			 2, params, &res, err, sizeof(err));
	if (rc != ST_OK) {
		st_log(ST_LOG_ERROR, "keys", "sealed key lookup failed: %s (%s)", st_err_str(rc),
		       err);
		goto out;
	}
	for (int i = 0; i < st_db_rows(res) && rc == ST_OK; i++) {
		const char *kid = st_db_get(res, i, 0);
		bool clear = strcmp(st_db_get(res, i, 1), "t") == 0;
		char *pem = NULL, *box = NULL;
		size_t len = 0;

		if (clear) {
			len = strlen(st_db_get(res, i, 2));
			pem = st_strndup(st_db_get(res, i, 2), len);
		} else if (open_private(keys, kid, st_db_get(res, i, 3), st_db_get(res, i, 4), &pem,
					&len) != ST_OK) {
			st_log(ST_LOG_WARN, "keys", "kid=%s left sealed as it was", kid);
			continue;
		}
		box = auth_kek_seal_hex(&keys->kek, pem, len);
		{
			const char *up[] = { kid, box, keys->kek.id };

			rc = exec(conn, "key seal",
				  "UPDATE signing_keys SET private_box = decode($2, 'hex'), "
				  "kek_id = $3, private_pem = NULL WHERE kid = $1",
				  3, up);
		}
		sealed += rc == ST_OK;
		auth_secret_free(pem, len);
		st_free(box);
	}
	if (sealed > 0)
		st_log(ST_LOG_INFO, "keys", "sealed signing keys under kek_id=%s n=%zu",
		       keys->kek.id, sealed);
out:
	st_db_result_free(res);
	return rc;
}

/* Inserts a key sealed under the current KEK (if its kid is absent) and makes it the only
 * unretired key, on conn. */
static enum st_err
install_key(struct st_db_conn *conn, const struct auth_keys *keys, const char *kid,
	    const char *priv, size_t priv_len, const char *pub)
{
	char *box = auth_kek_seal_hex(&keys->kek, priv, priv_len);
	const char *ins[] = { kid, box, keys->kek.id, pub };
	const char *ret[] = { kid };
	enum st_err rc;

	rc = exec(conn, "key insert",
		  "INSERT INTO signing_keys (kid, alg, private_box, kek_id, public_pem) "
		  "VALUES ($1, 'RS256', decode($2, 'hex'), $3, $4) ON CONFLICT (kid) DO UPDATE "
		  "SET retired_at = NULL, private_box = EXCLUDED.private_box, "
		  "kek_id = EXCLUDED.kek_id, private_pem = NULL",
		  4, ins);
	st_free(box);
	if (rc != ST_OK)
		return rc;
	return exec(conn, "key retire",
		    "UPDATE signing_keys SET retired_at = now() "
		    "WHERE retired_at IS NULL AND kid <> $1",
		    1, ret);
}

/*
 * Makes sure the table holds the key this replica must sign with, in one transaction under
 * an advisory lock: the configured file's key, or else the newest unretired key if it is
 * younger than rotate_days, or else a new one (the previous one retired). Seals the rows left
 * in clear first, and at_start reseals those under the previous KEK (seal_stored).
 */
static enum st_err
keys_ensure(struct st_app *app, struct auth_keys *keys, bool at_start)
{
	struct st_db_conn *conn = NULL;
	struct st_db_result *res = NULL;
	char *priv = NULL, *pub = NULL, *gen = NULL;
	size_t priv_len = 0, gen_len = 0;
	char kid[AUTH_KID_LEN + 1], days[16], err[256];
	const char *lock[] = { KEYS_LOCK_ID };
	const char *p_days[] = { days };
	enum st_err rc;

	rc = st_db_acquire_begin(app->db, &conn);
	if (rc != ST_OK)
		goto out;
	rc = exec(conn, "key lock", "SELECT pg_advisory_xact_lock($1::bigint)", 1, lock);
	if (rc == ST_OK)
		rc = seal_stored(conn, keys, at_start);
	if (rc != ST_OK)
		goto out;
	if (keys->fixed_pem != NULL) {
		rc = install_key(conn, keys, keys->fixed_kid, keys->fixed_pem, keys->fixed_len,
				 keys->fixed_pub);
		goto done;
	}
	snprintf(days, sizeof(days), "%d", keys->rotate_days);
	rc = st_db_query(conn,
			 "SELECT kid FROM signing_keys WHERE retired_at IS NULL AND "
			 "($1::int = 0 OR created_at > now() - make_interval(days => $1::int)) "
			 "ORDER BY created_at DESC LIMIT 1",
			 1, p_days, &res, err, sizeof(err));
	if (rc != ST_OK) {
		st_log(ST_LOG_ERROR, "keys", "key lookup failed: %s (%s)", st_err_str(rc), err);
		goto out;
	}
	if (st_db_rows(res) == 0) {
		rc = auth_key_generate(2048, &gen, &gen_len);
		if (rc == ST_OK)
			rc = auth_key_from_pem(gen, &priv, &priv_len, &pub, kid, err, sizeof(err));
		if (rc != ST_OK) {
			st_log(ST_LOG_ERROR, "keys", "key generation failed");
			goto out;
		}
		rc = install_key(conn, keys, kid, priv, priv_len, pub);
		if (rc == ST_OK)
			st_log(ST_LOG_INFO, "keys", "generated a signing key kid=%s", kid);
	}
done:
	if (rc == ST_OK)
		rc = st_db_commit(conn);
out:
	st_db_result_free(res);
	st_db_release(app->db, conn); /* rolls back an unfinished transaction */
	auth_secret_free(gen, gen_len);
	auth_secret_free(priv, priv_len);
	st_free(pub);
	return rc;
}

/*
 * Reloads the signing key and the published set from the table and swaps them in. With a
 * configured file, the signing key is that file's (by kid).
 */
static enum st_err
keys_load(struct st_app *app, struct auth_keys *keys)
{
	struct st_db_result *res = NULL;
	char secs[16], err[256];
	const char *params[] = { secs };
	struct pubkey *pubs = NULL;
	size_t npubs = 0, sign_len = 0, jwks_len = 0;
	char *sign_pem = NULL, *jwks = NULL;
	char sign_kid[AUTH_KID_LEN + 1] = "";
	cJSON *doc = NULL, *arr;
	bool signer_seen = keys->fixed_pem != NULL;
	enum st_err rc;
	int rows;

	snprintf(secs, sizeof(secs), "%d", keys->publish_s);
	rc = st_db_pool_query(app->db,
			      "SELECT kid, public_pem, "
			      "CASE WHEN retired_at IS NULL THEN encode(private_box, 'hex') END, "
			      "retired_at IS NULL, COALESCE(kek_id, '') FROM signing_keys WHERE "
			      "alg = 'RS256' AND (retired_at IS NULL OR "
			      "retired_at > now() - make_interval(secs => $1::int)) "
			      "ORDER BY created_at DESC",
			      1, params, &res, err, sizeof(err));
	if (rc != ST_OK) {
		st_log(ST_LOG_ERROR, "keys", "key load failed: %s (%s)", st_err_str(rc), err);
		goto out;
	}
	rows = st_db_rows(res);
	doc = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(doc, "keys");
	pubs = st_calloc((size_t)rows + 1, sizeof(*pubs));
	for (int i = 0; i < rows; i++) {
		const char *kid = st_db_get(res, i, 0);
		bool active = strcmp(st_db_get(res, i, 3), "t") == 0;
		cJSON *jwk = auth_key_jwk(kid, st_db_get(res, i, 1));

		if (jwk == NULL || strlen(kid) != AUTH_KID_LEN) {
			st_log(ST_LOG_WARN, "keys", "skipping an unreadable key kid=%.16s", kid);
			cJSON_Delete(jwk);
			continue;
		}
		cJSON_AddItemToArray(arr, jwk);
		st_strlcpy(pubs[npubs].kid, kid, sizeof(pubs[npubs].kid));
		pubs[npubs].public_pem = st_strdup(st_db_get(res, i, 1));
		npubs++;
		if (!signer_seen && active) {
			signer_seen = true;
			st_strlcpy(sign_kid, kid, sizeof(sign_kid));
			/* Only this thread replaces the key: reading it here needs no lock. */
			if (keys->sign_pem != NULL && strcmp(keys->sign_kid, kid) == 0) {
				sign_len = keys->sign_len; /* in memory already: not opened again */
				sign_pem = st_strndup(keys->sign_pem, sign_len);
			} else {
				open_private(keys, kid, st_db_get(res, i, 2), st_db_get(res, i, 4),
					     &sign_pem, &sign_len);
			}
		}
	}
	if (keys->fixed_pem != NULL) {
		st_strlcpy(sign_kid, keys->fixed_kid, sizeof(sign_kid));
		sign_len = keys->fixed_len;
		sign_pem = st_strndup(keys->fixed_pem, sign_len);
	}
	if (sign_pem == NULL) {
		st_log(ST_LOG_ERROR, "keys", "no usable signing key in auth.signing_keys");
		rc = signer_seen ? ST_ERR_AUTH : ST_ERR_NOT_FOUND;
		goto out;
	}
	jwks = st_json_print(doc, &jwks_len);

	pthread_rwlock_wrlock(&keys->lock);
	if (strcmp(keys->sign_kid, sign_kid) != 0)
		st_log(ST_LOG_INFO, "keys", "signing with kid=%s published=%zu", sign_kid, npubs);
	{
		struct pubkey *old_pubs = keys->pubs;
		size_t old_n = keys->npubs, old_len = keys->sign_len;
		char *old_pem = keys->sign_pem, *old_jwks = keys->jwks;

		st_strlcpy(keys->sign_kid, sign_kid, sizeof(keys->sign_kid));
		keys->sign_pem = sign_pem;
		keys->sign_len = sign_len;
		keys->pubs = pubs;
		keys->npubs = npubs;
		keys->jwks = jwks;
		keys->jwks_len = jwks_len;
		sign_pem = old_pem;
		sign_len = old_len;
		pubs = old_pubs;
		npubs = old_n;
		jwks = old_jwks;
	}
	pthread_rwlock_unlock(&keys->lock);
out:
	auth_secret_free(sign_pem, sign_len);
	for (size_t i = 0; pubs != NULL && i < npubs; i++)
		st_free(pubs[i].public_pem);
	st_free(pubs);
	st_free(jwks);
	cJSON_Delete(doc);
	st_db_result_free(res);
	return rc;
}

/* Reads and checks AUTH_JWT_PRIVATE_KEY_FILE's key into keys->fixed_*. */
static enum st_err
keys_read_file(struct auth_keys *keys, const char *path)
{
	char *pem = NULL;
	size_t len = 0;
	char err[160];
	enum st_err rc;

	rc = auth_secret_file_read(path, &pem, &len, err, sizeof(err));
	if (rc == ST_OK)
		rc = auth_key_from_pem(pem, &keys->fixed_pem, &keys->fixed_len, &keys->fixed_pub,
				       keys->fixed_kid, err, sizeof(err));
	if (rc != ST_OK)
		st_log(ST_LOG_ERROR, "keys", "AUTH_JWT_PRIVATE_KEY_FILE: %s", err);
	auth_secret_free(pem, len);
	return rc;
}

enum st_err
auth_keys_init(struct st_app *app, struct auth *auth)
{
	struct auth_keys *keys = st_calloc(1, sizeof(*keys));
	const char *file = st_config_str(app->config, "AUTH_JWT_PRIVATE_KEY_FILE");
	enum st_err rc = ST_OK;

	pthread_rwlock_init(&keys->lock, NULL);
	keys->rotate_days = (int)st_config_int(app->config, "AUTH_KEY_ROTATE_DAYS");
	keys->publish_s = auth->access_ttl_s + KEYS_PUBLISH_SLACK_S;
	rc = auth_kek_load(app->config, &keys->kek, &keys->kek_prev);
	if (rc == ST_OK && file != NULL && file[0] != '\0')
		rc = keys_read_file(keys, file);
	if (rc == ST_OK)
		rc = keys_ensure(app, keys, true);
	if (rc == ST_OK)
		rc = keys_load(app, keys);
	if (rc != ST_OK)
		goto out;
	auth->keys = keys;
	keys = NULL;
out:
	auth_keys_destroy(keys);
	return rc;
}

void
auth_keys_refresh(struct st_app *app)
{
	struct auth *auth = app->state;
	enum st_err rc;

	if (auth == NULL || auth->keys == NULL)
		return;
	/* A configured key is imported once, at start; otherwise rotate when due. */
	rc = auth->keys->fixed_pem != NULL ? ST_OK : keys_ensure(app, auth->keys, false);
	if (rc == ST_OK)
		rc = keys_load(app, auth->keys);
	if (rc != ST_OK)
		st_log(ST_LOG_WARN, "keys", "key refresh failed: %s; keeping the keys in memory",
		       st_err_str(rc));
}

void
auth_keys_destroy(struct auth_keys *keys)
{
	if (keys == NULL)
		return;
	auth_secret_free(keys->sign_pem, keys->sign_len);
	for (size_t i = 0; i < keys->npubs; i++)
		st_free(keys->pubs[i].public_pem);
	st_free(keys->pubs);
	st_free(keys->jwks);
	auth_secret_free(keys->fixed_pem, keys->fixed_len);
	st_free(keys->fixed_pub);
	auth_kek_wipe(&keys->kek);
	auth_kek_wipe(&keys->kek_prev);
	pthread_rwlock_destroy(&keys->lock);
	st_free(keys);
}

enum st_err
auth_keys_signer(struct auth_keys *keys, char *kid, char **pem, size_t *len)
{
	enum st_err rc = ST_ERR_UNAVAILABLE;

	*pem = NULL;
	*len = 0;
	pthread_rwlock_rdlock(&keys->lock);
	if (keys->sign_pem != NULL) {
		st_strlcpy(kid, keys->sign_kid, AUTH_KID_LEN + 1);
		*pem = st_strndup(keys->sign_pem, keys->sign_len);
		*len = keys->sign_len;
		rc = ST_OK;
	}
	pthread_rwlock_unlock(&keys->lock);
	return rc;
}

void
auth_keys_secret_free(char *pem, size_t len)
{
	auth_secret_free(pem, len);
}

char *
auth_keys_public(struct auth_keys *keys, const char *kid)
{
	char *pem = NULL;

	pthread_rwlock_rdlock(&keys->lock);
	for (size_t i = 0; i < keys->npubs; i++)
		if (strcmp(keys->pubs[i].kid, kid) == 0) {
			pem = st_strdup(keys->pubs[i].public_pem);
			break;
		}
	pthread_rwlock_unlock(&keys->lock);
	return pem;
}

/* ---- handlers ---- */

int
keys_jwks(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	struct auth *auth = app->state;
	char *body;
	size_t len;
	int status;

	pthread_rwlock_rdlock(&auth->keys->lock);
	len = auth->keys->jwks_len;
	body = st_strndup(auth->keys->jwks, len);
	pthread_rwlock_unlock(&auth->keys->lock);
	st_http_add_header(req, "Cache-Control", "public, max-age=300");
	status = st_http_reply(req, 200, "application/json", body, len);
	st_free(body);
	return status;
}

int
keys_openid_configuration(struct st_req *req, void *ctx)
{
	static const char *const claims[] = { "iss", "sub", "aud",   "exp",
					      "iat", "jti", "scope", "roles" };
	struct st_app *app = ctx;
	struct auth *auth = app->state;
	cJSON *doc = cJSON_CreateObject(), *arr;
	char *url = st_asprintf("%s/api/v1/auth/jwks", auth->issuer);
	char *token = st_asprintf("%s/api/v1/auth/login", auth->issuer);
	int status;

	cJSON_AddStringToObject(doc, "issuer", auth->issuer);
	cJSON_AddStringToObject(doc, "jwks_uri", url);
	cJSON_AddStringToObject(doc, "token_endpoint", token);
	arr = cJSON_AddArrayToObject(doc, "id_token_signing_alg_values_supported");
	cJSON_AddItemToArray(arr, cJSON_CreateString("RS256"));
	arr = cJSON_AddArrayToObject(doc, "response_types_supported");
	cJSON_AddItemToArray(arr, cJSON_CreateString("token"));
	arr = cJSON_AddArrayToObject(doc, "subject_types_supported");
	cJSON_AddItemToArray(arr, cJSON_CreateString("public"));
	cJSON_AddItemToObject(doc, "scopes_supported", auth_scopes_json(ST_SCOPE_ALL));
	cJSON_AddItemToObject(doc, "claims_supported",
			      cJSON_CreateStringArray(claims, (int)ST_ARRAY_LEN(claims)));
	st_http_add_header(req, "Cache-Control", "public, max-age=300");
	status = st_http_reply_json(req, 200, doc);
	cJSON_Delete(doc);
	st_free(url);
	st_free(token);
	return status;
}
